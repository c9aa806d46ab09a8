"""Where a page's time goes: the gateway's ASGI app in this process (create_app, driven through
httpx.ASGITransport: no HTTP server, no sockets to the client), on the same stub database as the
headline, full selection, as the service owner ttd. Taking turns, after a warm-up:

- driver read + orjson: the headline's baseline, here in the same process as the app;
- app, page prefetched: the store answers `stream_page` (and `find_page`) with the page it fetched
  in the warm-up, so this is token, GraphQL, resolvers and JSON without reading the instances
  (the `events` query still goes to the stub);
- app: the whole request, all but the HTTP server.

With the headline's figure of the same page: HTTP server and client = over HTTP - app; reading the
instances = app - app with the page prefetched. `--profile` prints a cProfile of one app request.

After the timings, once per page: the peak of Python's traced allocations (tracemalloc) during one
request of the baseline and of the app, against the size of the JSON answered. Unlike the
headline's peak RSS it does not depend on what the process's heap held before. For it the app is
called directly (`asgi_post`), its response sent to a sink that only counts it: httpx.ASGITransport
keeps the body's chunks and then their join, which would count the client's copies too.
"""

import asyncio
import cProfile
import io
import pstats
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from app.composition import create_app
from app.config import Settings
from app.store.instances import Document, Page, PageStream
from benchmarks.data import ORG, SECRET
from benchmarks.measure import MB, Timing, driver_baseline, ms, round_robin, runs_for
from benchmarks.processes import POLICY_DIR
from benchmarks.queries import full_page

BASELINE, PREFETCHED, APP = "driver read + orjson, same process", "app (ASGI), page prefetched", "app (ASGI)"


class ReplayingStore:
    """The app's store, but it keeps the first page read (`find_page` or `stream_page`) while
    `page` is None, and answers every page read with it while `replay` is set."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.page: Page | None = None
        self.replay = False

    async def _kept(self, query: dict[str, Any]) -> Page | None:
        """The page to answer instead of reading one, if any (recording the first page read)."""
        if self.page is None:
            self.page = await self._store.find_page(**query)
            return self.page
        return self.page if self.replay else None

    async def find_page(self, **query: Any) -> Page:
        page = await self._kept(query)
        return page if page is not None else await self._store.find_page(**query)

    async def stream_page(self, **query: Any) -> PageStream:
        page = await self._kept(query)
        return _stream_of(page) if page is not None else await self._store.stream_page(**query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _stream_of(page: Page) -> PageStream:
    """A fresh PageStream over a page already read: one batch, the page's cursors."""
    cursors = {id(document): cursor for document, cursor in zip(page.documents, page.cursors, strict=True)}

    async def one_batch() -> AsyncIterator[list[Document]]:
        yield page.documents

    return PageStream(
        one_batch(),
        len(page.documents),
        lambda document: cursors[id(document)],
        has_next_page=page.has_next_page,
    )


@dataclass
class Traced:
    name: str
    peak: int  # bytes
    answered: int  # bytes of JSON

    @property
    def ratio(self) -> float:
        return self.peak / self.answered


async def traced_peak(name: str, run: Callable[[], Awaitable[int]]) -> Traced:
    """The peak of Python's traced allocations during `run`, above those before it (so whatever
    the heap held before does not count), and the size of what it answered (`run`'s result)."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        answered = await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Traced(name, peak - before, answered)


async def asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, int]:
    """POST a JSON `body` to the ASGI `app` itself, without a client: its status and the size of
    its response body, whose chunks are counted and dropped."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway", 80),
    }
    received, never = False, asyncio.Event()
    status = size = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # asked again (a disconnect listener): nothing more, ever
            await never.wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, size


@dataclass
class Layers:
    first: int
    runs: int
    timings: list[Timing]  # the baseline first
    memory: list[Traced]  # the baseline, the app


async def measure(
    mongodb_url: str, database_name: str, token: str, sizes: Sequence[int], scale: float, profile: bool
) -> tuple[list[Layers], list[str]]:
    settings = Settings(
        _env_file=None,
        mongodb_url=mongodb_url,
        mongodb_database=database_name,
        jwt_secret=SECRET,
        policy_dir=POLICY_DIR,
    )
    app = create_app(settings)
    results: list[Layers] = []
    notes: list[str] = []
    async with app.router.lifespan_context(app):
        services = app.state.services
        store = services.store = ReplayingStore(services.store)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            for first in sizes:
                body = {"query": full_page(), "variables": {"first": first}}

                async def request(body: dict[str, Any] = body) -> bytes:
                    response = await client.post("/graphql", json=body, headers=headers)
                    if response.status_code != 200 or b'"errors"' in response.content:
                        raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
                    return response.content

                async def prefetched(request: Any = request) -> bytes:
                    store.replay = True
                    try:
                        return await request()
                    finally:
                        store.replay = False

                store.page = None
                expected = len(await request())
                series = {
                    BASELINE: driver_baseline(services.database.instances, {"org": ORG}, {"_id": 0}, first),
                    PREFETCHED: prefetched,
                    APP: request,
                }
                if store.page is None:
                    del series[PREFETCHED]
                    notes.append("in process: the app read no page through find_page or stream_page; no prefetched row")
                runs = runs_for(first, scale / 2)
                timings = await round_robin(series, runs, warmup=1 + runs // 10)

                async def dumped(read: Callable[[], Awaitable[bytes]] = series[BASELINE]) -> int:
                    return len(await read())

                async def direct(payload: bytes = orjson.dumps(body), expected: int = expected) -> int:
                    status, size = await asgi_post(app, "/graphql", payload, headers)
                    if status != 200 or size != expected:
                        raise RuntimeError(f"direct ASGI call: {status}, {size} bytes, not 200, {expected}")
                    return size

                memory = [await traced_peak(BASELINE, dumped), await traced_peak(APP, direct)]
                results.append(Layers(first, runs, list(timings.values()), memory))
            if profile:
                notes.append(await _profile(client, headers, max(sizes)))
    return results, notes


async def _profile(client: httpx.AsyncClient, headers: dict[str, str], first: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    await client.post("/graphql", json={"query": full_page(), "variables": {"first": first}}, headers=headers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return f"cProfile of one app request, first: {first}, by own time:\n{out.getvalue()}"


def report(results: list[Layers]) -> list[str]:
    lines = []
    for layers in results:
        baseline = layers.timings[0]
        lines.append(f"instances(first: {layers.first}), full selection    runs  median ms  p95 ms  x baseline")
        for timing in layers.timings:
            lines.append(
                f"  {timing.name:<40}{layers.runs:>6}{ms(timing.median):>11}{ms(timing.p95):>8}"
                f"{timing.median / baseline.median:>11.1f}"
            )
        lines.append("  peak of traced allocations, one request   peak MB  JSON MB  x response")
        for traced in layers.memory:
            lines.append(
                f"  {traced.name:<40}{traced.peak / MB:>9.2f}{traced.answered / MB:>9.2f}{traced.ratio:>12.1f}"
            )
    return lines
