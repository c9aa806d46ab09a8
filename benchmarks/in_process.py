"""Where a page's time goes: the gateway's ASGI app in this process (create_app, driven through
httpx.ASGITransport: no HTTP server, no sockets to the client), on the same stub database as the
headline, full selection, as the service owner ttd. Taking turns, after a warm-up:

- driver read + orjson: the headline's baseline, here in the same process as the app;
- app, page prefetched: the store answers `find_page` with the page it fetched in the warm-up,
  so this is token, GraphQL, resolvers and JSON without reading the instances (the `events`
  query still goes to the stub);
- app: the whole request, all but the HTTP server.

With the headline's figure of the same page: HTTP server and client = over HTTP - app; reading the
instances = app - app with the page prefetched. `--profile` prints a cProfile of one app request.
"""

import cProfile
import io
import pstats
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from app.config import Settings
from app.http.app import create_app
from app.store.instances import Page
from benchmarks.data import ORG, SECRET
from benchmarks.measure import Timing, driver_baseline, ms, round_robin, runs_for
from benchmarks.processes import POLICY_DIR
from benchmarks.queries import full_page


class ReplayingStore:
    """The app's store, but while `replay` is set `find_page` answers the page it answered last."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.page: Page | None = None
        self.replay = False

    async def find_page(self, **query: Any) -> Page:
        if not self.replay or self.page is None:
            self.page = await self._store.find_page(**query)
        return self.page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@dataclass
class Layers:
    first: int
    runs: int
    timings: list[Timing]  # the baseline first


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
                await request()
                series = {
                    "driver read + orjson, same process": driver_baseline(
                        services.database.instances, {"org": ORG}, {"_id": 0}, first
                    ),
                    "app (ASGI), page prefetched": prefetched,
                    "app (ASGI)": request,
                }
                if store.page is None:
                    del series["app (ASGI), page prefetched"]
                    notes.append("in process: the app no longer calls store.find_page; no prefetched row")
                runs = runs_for(first, scale / 2)
                timings = await round_robin(series, runs, warmup=1 + runs // 10)
                results.append(Layers(first, runs, list(timings.values())))
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
    return lines
