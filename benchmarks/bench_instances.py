"""Benchmark of the instances query: in process against a raw-store baseline, and over HTTP.

Run: `.venv/bin/python benchmarks/bench_instances.py` (or `make bench`); `--help` for the knobs.
It generates a deterministic data set shaped like real Altinn instances (seeded random), then:

1. In process, on the embedded store: `instances(first: N)` selecting every field of Instance
   and of the types under it (built from the schema, so new fields are measured too), as
   - the baseline: the same documents fetched from the same store with the query the gateway
     sends (read restriction, order, limit), then `orjson.dumps`-ed;
   - GraphQL on prefetched documents: `schema.execute` with a store that hands back the page
     already fetched, so the GraphQL layer's own cost;
   - `schema.execute` with the app's context (resolvers and store, no HTTP);
   - the gateway: POST /graphql through the whole ASGI app (httpx.ASGITransport): token check,
     Strawberry, resolvers, store, JSON response. This is the figure compared with the baseline.
   The series run round robin, so a busy machine weighs on all of them alike.
2. Over HTTP, against `instance-gateway serve --load FILE` on free loopback ports (one server
   per `--http-instances` size, each loaded with that many of the instances): requests per
   second and latency of a typical 20-instance page, against GET /healthz; with an async httpx
   client and bounded concurrency.

It stops by itself, stops its servers, and prints one table; `--profile` also prints a cProfile
of one `first: 1000` request.
"""

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import graphql
import httpx
import orjson

from app.authorization.tokens import mint_token
from app.config import Settings
from app.graphql.context import Context
from app.graphql.schema import build_schema
from app.http.app import Services, create_app
from app.store.changes import InstanceChanges
from app.store.database import Database, ensure_indexes
from app.store.documents import normalize_instance
from app.store.filters import compile_read_query
from app.store.instances import Page
from app.store.ordering import normalize_order, sort_specification
from app.store.party_roles import PartyRoles

SECRET = "instance-gateway-benchmark-secret-of-at-least-32-bytes"
ORG = "ttd"
ORG_NUMBER = "991825827"
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
APPS = (  # (appId, share, name of the form data type, task names)
    ("ttd/skjema-a", 45, "skjema-a-modell", ("Utfylling", "Bekreftelse")),
    ("ttd/skjema-b", 25, "skjema-b-modell", ("Utfylling", "Signering")),
    ("ttd/melding", 20, "melding", ("Melding",)),
    ("skd/mva-melding", 10, "mva-melding", ("Utfylling", "Bekreftelse")),  # another org: not visible to ttd
)

TYPICAL_PAGE = """
query Inbox($first: Int!) {
  instances(first: $first) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id appId lastChanged
      process { currentTask { elementId } }
      status { isArchived readStatus substatus { label } }
    }
  }
}
"""


# ---------------------------------------------------------------------------------------------
# The data set


def _timestamp(moment: datetime, rng: random.Random) -> str:
    """.NET's form: 7 fractional digits, `Z` or `+00:00`."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}{rng.randrange(10)}"
    return text + ("Z" if rng.random() < 0.7 else "+00:00")


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _owner(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.8:
        number = rng.randrange(1500)
        return {
            "partyId": str(50_000_000 + number),
            "personNumber": f"{(number % 28) + 1:02d}{rng.randrange(1, 13):02d}{rng.randrange(40, 99)}{number:05d}",
            "organisationNumber": None,
            "username": None,
        }
    number = rng.randrange(300)
    return {
        "partyId": str(51_000_000 + number),
        "personNumber": None,
        "organisationNumber": str(910_000_000 + number),
        "username": None,
    }


def _links(path: str) -> dict[str, str]:
    return {
        "apps": f"https://{path.split('/')[0]}.apps.altinn.no/{path}",
        "platform": f"https://platform.altinn.no/storage/api/v1/{path.split('/', 2)[2]}",
    }


def _data_element(
    rng: random.Random, app_id: str, instance_path: str, guid: str, index: int, created: datetime, form: str
) -> dict[str, Any]:
    element_id = _guid(rng)
    is_form = index == 0
    changed = created + timedelta(minutes=rng.randrange(0, 600))
    user = str(rng.randrange(1000, 99999))
    return {
        "id": element_id,
        "instanceGuid": guid,
        "dataType": form if is_form else rng.choice(("vedlegg", "dokumentasjon", "ref-data-as-pdf")),
        "filename": None if is_form else f"vedlegg-{index}.pdf",
        "contentType": "application/xml" if is_form else "application/pdf",
        "blobStoragePath": f"{app_id}/{guid}/data/{element_id}",
        "selfLinks": _links(f"{app_id}/instances/{instance_path}/data/{element_id}"),
        "size": rng.randrange(400, 4000) if is_form else rng.randrange(20_000, 5_000_000),
        "contentHash": None if is_form else f"{rng.getrandbits(256):064x}",
        "locked": rng.random() < 0.3,
        "refs": [] if is_form else [_guid(rng)],
        "isRead": rng.random() < 0.8,
        "tags": [] if is_form else rng.sample(["signert", "kvittering", "vedlegg", "original"], rng.randrange(3)),
        "userDefinedMetadata": [] if is_form else [{"key": "kilde", "value": "opplasting"}],
        "metadata": [{"key": "ContentType", "value": "application/pdf"}] if not is_form else [],
        "deleteStatus": {"isHardDeleted": False, "hardDeleted": None},
        "fileScanResult": "NotApplicable" if is_form else rng.choice(("Clean", "Clean", "Clean", "Pending")),
        "references": []
        if is_form
        else [{"value": _guid(rng), "relation": "GeneratedFrom", "valueType": "DataElement"}],
        "created": _timestamp(created, rng),
        "createdBy": user,
        "lastChanged": _timestamp(changed, rng),
        "lastChangedBy": user,
    }


def make_instance(rng: random.Random) -> dict[str, Any]:
    """One instance in Altinn's API form, all of its parts filled as a real one would be."""
    app_id, _, form, task_names = rng.choices(APPS, weights=[a[1] for a in APPS])[0]
    org = app_id.split("/")[0]
    owner, guid = _owner(rng), _guid(rng)
    path = f"{owner['partyId']}/{guid}"
    created = EPOCH + timedelta(seconds=rng.randrange(365 * 24 * 3600), microseconds=rng.randrange(10**6))
    last_changed = created + timedelta(seconds=rng.randrange(30 * 24 * 3600))
    creator = str(rng.randrange(1000, 99999))
    ended = rng.random() < 0.35
    flow = rng.randrange(2, 2 + 2 * len(task_names))
    task_index = rng.randrange(len(task_names))
    current_task = None
    if not ended:
        current_task = {
            "flow": flow,
            "started": _timestamp(created + timedelta(minutes=flow), rng),
            "elementId": f"Task_{task_index + 1}",
            "name": task_names[task_index],
            "altinnTaskType": ("data", "confirmation", "signing")[min(task_index, 2)],
            "ended": None,
            "validated": {"timestamp": _timestamp(last_changed, rng), "canCompleteTask": rng.random() < 0.7}
            if rng.random() < 0.5
            else None,
            "flowType": "CompleteCurrentMoveToNext",
        }
    soft_deleted = rng.random() < 0.05
    substatus = None
    if rng.random() < 0.25:
        substatus = rng.choice(
            (
                {"label": "Under behandling", "description": "Saken er mottatt og behandles."},
                {"label": "Venter på dokumentasjon fra søker", "description": "Last opp vedlegg."},
                {"label": "Godkjent", "description": None},
            )
        )
    data_created = created + timedelta(seconds=30)
    data = [
        _data_element(rng, app_id, path, guid, i, data_created + timedelta(minutes=i), form)
        for i in range(rng.randrange(1, 5))
    ]
    return {
        "id": path,
        "instanceOwner": owner,
        "appId": app_id,
        "org": org,
        "selfLinks": _links(f"{app_id}/instances/{path}"),
        "dueBefore": _timestamp(created + timedelta(days=30), rng) if rng.random() < 0.3 else None,
        "visibleAfter": _timestamp(created, rng) if rng.random() < 0.2 else None,
        "process": {
            "started": _timestamp(created, rng),
            "startEvent": "StartEvent_1",
            "currentTask": current_task,
            "ended": _timestamp(last_changed, rng) if ended else None,
            "endEvent": "EndEvent_1" if ended else None,
        },
        "status": {
            "isArchived": ended,
            "archived": _timestamp(last_changed, rng) if ended else None,
            "isSoftDeleted": soft_deleted,
            "softDeleted": _timestamp(last_changed, rng) if soft_deleted else None,
            "isHardDeleted": False,
            "hardDeleted": None,
            "readStatus": rng.choice(("Read", "Read", "Unread", "UpdatedSinceLastReview")),
            "substatus": substatus,
        },
        "completeConfirmations": [{"stakeholderId": org, "confirmedOn": _timestamp(last_changed, rng)}]
        if ended and rng.random() < 0.5
        else [],
        "data": data,
        "presentationTexts": {"Navn": f"Søknad {rng.randrange(10_000)}", "Kommune": rng.choice(("Oslo", "Bergen"))},
        "dataValues": {"saksnummer": f"{created.year}/{rng.randrange(100_000)}"} if rng.random() < 0.4 else {},
        "created": _timestamp(created, rng),
        "createdBy": creator,
        "lastChanged": _timestamp(last_changed, rng),
        "lastChangedBy": creator if rng.random() < 0.7 else ORG_NUMBER,
    }


def make_instances(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_instance(rng) for _ in range(count)]


# ---------------------------------------------------------------------------------------------
# The full selection, from the schema itself so that a field added later is measured too


def _selection(type_: graphql.GraphQLObjectType, path: tuple[str, ...] = ()) -> list[str]:
    selected = []
    for name, definition in type_.fields.items():
        if any(graphql.is_required_argument(a) for a in definition.args.values()):
            continue
        named = graphql.get_named_type(definition.type)
        if isinstance(named, graphql.GraphQLObjectType):
            if named.name in path:
                continue
            selected.append(f"{name} {{ {' '.join(_selection(named, (*path, named.name)))} }}")
        else:
            selected.append(name)
    return selected


def full_query() -> tuple[str, int]:
    """`instances(first: $first)` selecting every field under Instance; and how many leaves."""
    instance = graphql.build_schema(build_schema(Settings(_env_file=None)).as_str()).get_type("Instance")
    if not isinstance(instance, graphql.GraphQLObjectType):
        raise RuntimeError("the schema has no Instance type")
    fields = " ".join(_selection(instance, ("Instance",)))
    query = (
        "query Full($first: Int!) { instances(first: $first) "
        f"{{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {fields} }} }} }} }}"
    )
    return query, _leaves(graphql.parse(f"{{ {fields} }}").definitions[0].selection_set)


def _leaves(selection_set: Any) -> int:
    return sum(1 if f.selection_set is None else _leaves(f.selection_set) for f in selection_set.selections)


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Timing:
    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: with few values, p95 is the slowest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def timed(run: Callable[[], Awaitable[Any]], times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        await run()
        seconds.append(time.perf_counter() - start)
    return seconds


def _context(services: Services, token: str) -> Context:
    """What the app builds for one request (a fresh one each time: it holds a DataLoader)."""
    return Context(
        caller=services.verifier.verify(token),
        store=services.store,
        changes=InstanceChanges(services.database),
        party_roles=PartyRoles(services.database),
        policies=services.policies,
    )


async def bulk_load(database: Database, documents: list[dict[str, Any]]) -> None:
    """Insert without the unique index on `id`, then build it again: mongomock checks a unique
    index by scanning the collection on every insert, which makes loading quadratic (write_all
    takes over a minute for 5,000 instances). Building the index checks uniqueness once."""
    await database.instances.drop_index("id_1")
    await database.instances.insert_many([dict(d) for d in documents])
    await ensure_indexes(database)


@contextlib.asynccontextmanager
async def in_process_gateway(documents: list[dict[str, Any]]) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = Settings(_env_file=None, mongodb_url=None, jwt_secret=SECRET, jwt_public_key_file=None)
    app = create_app(settings, seed=lambda database: bulk_load(database, documents))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client, app.state.services


@dataclass
class PageTimings:
    first: int
    fetch: Timing  # the store's query alone
    dumps: Timing  # orjson.dumps of the fetched documents
    baseline: Timing  # both, per run
    in_memory: Timing  # schema.execute on documents already fetched: GraphQL's own cost
    execute: Timing  # schema.execute with the app's context: resolvers and store, no HTTP
    gateway: Timing  # POST /graphql through the ASGI app: the whole request


class PrefetchedStore:
    """Stands in for the InstanceStore with one page already fetched."""

    def __init__(self, page: Page) -> None:
        self.page = page

    async def find_page(self, **query: Any) -> Page:
        return self.page


async def measure_page(
    client: httpx.AsyncClient, services: Services, token: str, query: str, first: int, runs: int
) -> tuple[PageTimings, str]:
    restriction = await _context(services, token).read_restriction()
    mongo_query = compile_read_query(None, restriction)
    sort = sort_specification(normalize_order(None))
    headers = {"Authorization": f"Bearer {token}"}
    variables = {"first": first}
    page = await services.store.find_page(
        instance_filter=None, restriction=restriction, order=None, first=first, after=None, fields=None
    )

    async def fetch() -> list[dict[str, Any]]:
        return await services.database.instances.find(mongo_query, {"_id": 0}).sort(sort).limit(first).to_list(None)

    schema = build_schema(services.settings)

    async def execute(context: Context) -> None:
        result = await schema.execute(query, variables, context_value=context)
        if result.errors:
            raise RuntimeError(result.errors)

    async def in_memory() -> None:
        context = _context(services, token)
        context.store = PrefetchedStore(page)  # type: ignore[assignment]
        await execute(context)

    async def request() -> bytes:
        # The body is not parsed here: decoding it is the client's cost, not the gateway's.
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
        return response.content

    # Warm-up, and the check that the gateway answers with exactly the documents the baseline serializes.
    answer, documents = orjson.loads(await request()), await fetch()
    if [e["node"]["id"] for e in answer["data"]["instances"]["edges"]] != [d["id"] for d in documents]:
        raise RuntimeError(f"first: {first}: the gateway and the baseline disagree on the documents")
    await in_memory()
    note = (
        f"first: {first}: {len(documents)} instances; response {len(orjson.dumps(answer)) / 1024:.0f} KiB, "
        f"raw documents {len(orjson.dumps(documents)) / 1024:.0f} KiB as JSON"
    )
    # Round robin, so that whatever else the machine does weighs on every series alike.
    series: dict[str, list[float]] = {name: [] for name in ("fetch", "dumps", "in_memory", "execute", "gateway")}
    for _ in range(runs):
        start = time.perf_counter()
        documents = await fetch()
        fetched = time.perf_counter()
        orjson.dumps(documents)
        series["fetch"].append(fetched - start)
        series["dumps"].append(time.perf_counter() - fetched)
        for name, run in (
            ("in_memory", in_memory),
            ("execute", lambda: execute(_context(services, token))),
            ("gateway", request),
        ):
            start = time.perf_counter()
            await run()
            series[name].append(time.perf_counter() - start)
    timings = PageTimings(
        first=first,
        fetch=Timing("store fetch (find+sort+limit)", series["fetch"]),
        dumps=Timing("orjson.dumps of those documents", series["dumps"]),
        baseline=Timing(
            "baseline: fetch + orjson.dumps", [f + d for f, d in zip(series["fetch"], series["dumps"], strict=True)]
        ),
        in_memory=Timing("GraphQL on prefetched documents", series["in_memory"]),
        execute=Timing("schema.execute, app context", series["execute"]),
        gateway=Timing("gateway: POST /graphql (ASGI)", series["gateway"]),
    )
    return timings, note


async def measure_in_process(
    documents: list[dict[str, Any]], token: str, sizes: list[int], runs: int, profile: bool
) -> tuple[list[PageTimings], list[str]]:
    query, _ = full_query()
    pages: list[PageTimings] = []
    notes: list[str] = []
    async with in_process_gateway(documents) as (client, services):
        unauthenticated = await client.post("/graphql", json={"query": "{ instances { nodes { id } } }"})
        notes.append(f"in process: POST /graphql without a token answers {unauthenticated.status_code}")
        for first in sizes:
            page, note = await measure_page(client, services, token, query, first, runs)
            pages.append(page)
            notes.append(note)
        if profile:
            headers = {"Authorization": f"Bearer {token}"}
            body = {"query": query, "variables": {"first": max(sizes)}}
            profiler = cProfile.Profile()
            profiler.enable()
            await client.post("/graphql", json=body, headers=headers)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            print(f"cProfile of one request, first: {max(sizes)}, by own time:\n{out.getvalue()}")
    return pages, notes


# ---------------------------------------------------------------------------------------------
# Over HTTP, against a real server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log_file: Path
    started: float = field(default_factory=time.perf_counter)
    ready_after: float | None = None
    _watcher: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while self.process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    self.ready_after = time.perf_counter() - self.started
                    return
            time.sleep(0.25)

    def wait_ready(self, timeout: float) -> float:
        """Seconds from its start until /healthz first answered."""
        self._watcher.join(timeout)
        if self.ready_after is None:
            self.process.terminate()
            self.process.wait()
            raise RuntimeError(
                f"the server did not answer /healthz in time (exit code {self.process.returncode}):\n"
                f"{self.log_file.read_text()}"
            )
        return self.ready_after


@contextlib.contextmanager
def served(data_file: Path, workdir: Path) -> Iterator[Server]:
    """`instance-gateway serve --load` on a free loopback port, stopped when the block ends."""
    port = free_port()
    # The environment's GATEWAY_* settings (a MongoDB URL, say) and any .env stay out of it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_JWT_SECRET"] = SECRET
    beside_python = Path(sys.executable).with_name("instance-gateway")
    command = [
        str(beside_python) if beside_python.exists() else shutil.which("instance-gateway") or "instance-gateway",
        "serve",
        *("--host", "127.0.0.1", "--port", str(port), "--load", str(data_file)),
    ]
    log_file = workdir / "server.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Server(f"http://127.0.0.1:{port}", process, log_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Throughput:
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def load(
    name: str, send: Callable[[], Awaitable[httpx.Response]], concurrency: int, max_requests: int, seconds: float
) -> Throughput:
    """`concurrency` workers sending back to back, until `max_requests` are answered or `seconds`
    pass; requests still under way then are abandoned and not counted."""
    for _ in range(2):  # warm-up
        (await send()).raise_for_status()
    latencies: list[float] = []
    start = time.perf_counter()

    async def worker() -> None:
        while len(latencies) < max_requests:
            began = time.perf_counter()
            response = await send()
            if response.status_code != 200 or b'"errors"' in response.content:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
            latencies.append(time.perf_counter() - began)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=seconds)
    return Throughput(name, len(latencies), time.perf_counter() - start, latencies)


async def measure_http(
    servers: list[tuple[str, Server]], token: str, args: argparse.Namespace
) -> tuple[list[Throughput], list[str]]:
    """A typical page of 20 on each server, smallest data set first, and GET /healthz on that
    one; the largest comes last since it goes on with the abandoned requests for a while."""
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": TYPICAL_PAGE, "variables": {"first": 20}}
    results: list[Throughput] = []
    notes: list[str] = []
    for label, server in servers:
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=120) as client:
            unauthenticated = await client.post("/graphql", json=body)
            page = await client.post("/graphql", json=body, headers=headers)
            notes.append(
                f"server ({label}): POST /graphql without a token answers {unauthenticated.status_code}; "
                f"the page of 20 answers {page.status_code} with {len(page.content)} bytes"
            )
            cases: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
                (f"page of 20, {label}", lambda client=client: client.post("/graphql", json=body, headers=headers))
            ]
            if server is servers[0][1]:
                cases.append((f"GET /healthz, {label}", lambda client=client: client.get("/healthz")))
            for name, send in cases:
                results.append(await load(name, send, args.concurrency, args.requests, args.seconds))
    return results, notes


# ---------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(
    args: argparse.Namespace,
    setup: list[str],
    pages: list[PageTimings],
    throughputs: list[Throughput],
    notes: list[str],
) -> None:
    python = sys.version.split()[0]
    print(f"\ninstance-gateway benchmark ({args.instances} instances, seed {args.seed}, Python {python})")
    for line in setup:
        print(f"  {line}")
    for page in pages:
        print(f"\ninstances(first: {page.first}), full selection    runs  median ms  p95 ms  x baseline")
        for timing in (page.fetch, page.dumps, page.baseline, page.in_memory, page.execute, page.gateway):
            ratio = timing.median / page.baseline.median
            print(
                f"  {timing.name:<40}{len(timing.seconds):>6}{_ms(timing.median):>11}{_ms(timing.p95):>8}{ratio:>11.2f}"
            )
        print(f"  {'GraphQL on prefetched / orjson.dumps':<40}{page.in_memory.median / page.dumps.median:>36.0f}x")
    if throughputs:
        print(
            f"\nover HTTP, {args.concurrency} concurrent          requests  seconds   req/s  p50 ms  p95 ms  x healthz"
        )
        healthz = next(t for t in throughputs if "healthz" in t.name)
        for result in throughputs:
            print(
                f"  {result.name:<34}{result.requests:>8}{result.seconds:>9.1f}{result.rps:>8.1f}"
                f"{_ms(statistics.median(result.latencies)):>8}{_ms(percentile(result.latencies, 95)):>8}"
                f"{result.rps / healthz.rps:>11.3f}"
            )
    print()
    for note in notes:
        print(f"  {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=5000, help="size of the data set (default 5000)")
    parser.add_argument(
        "--http-instances",
        type=int,
        nargs="+",
        default=[20, 200, 1000],
        metavar="N",
        help="one server per size, loaded with the first N instances (default 20 200 1000; "
        "`serve --load` of 5000 takes over a minute on the embedded store)",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="random seed of the data set")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="page sizes measured in process")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per in-process measurement (default 5)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP requests (default 8)")
    parser.add_argument("--requests", type=int, default=20_000, help="at most this many HTTP requests per case")
    parser.add_argument("--seconds", type=float, default=6, help="at most this long per HTTP case (default 6)")
    parser.add_argument("--skip-http", action="store_true", help="measure in process only")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one request of the largest size")
    args = parser.parse_args()

    started = time.perf_counter()
    raw = make_instances(args.instances, args.seed)
    documents = [normalize_instance(json.loads(json.dumps(d))) for d in raw]
    visible = sum(d["org"] == ORG for d in documents)
    elements = sum(len(d["data"]) for d in documents)
    setup = [
        f"data set: {len(raw)} instances ({visible} of org {ORG}), {elements} data elements; "
        f"generated and normalized in {time.perf_counter() - started:.1f} s",
        f"caller: service owner {ORG} (HS256 token); the full selection has {full_query()[1]} leaf fields",
    ]
    token = mint_token(secret=SECRET, org=ORG, org_number=ORG_NUMBER)
    throughputs: list[Throughput] = []
    with contextlib.ExitStack() as stack:
        servers: list[tuple[str, Server]] = []
        if not args.skip_http:
            # The servers load their copies while the in-process part runs.
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gateway-bench-")))
            for size in sorted(set(args.http_instances)):
                subset = raw[:size]
                folder = workdir / str(len(subset))
                folder.mkdir()
                data_file = folder / "instances.ndjson"
                data_file.write_bytes(b"\n".join(orjson.dumps(d) for d in subset) + b"\n")
                servers.append((f"{len(subset)} instances", stack.enter_context(served(data_file, folder))))
            # The small one first: its start (imports) is not to run beside the measurements.
            servers[0][1].wait_ready(timeout=60)

        measuring = time.perf_counter()
        pages, notes = asyncio.run(measure_in_process(documents, token, args.sizes, args.runs, args.profile))
        setup.append(f"in process: loaded and measured in {time.perf_counter() - measuring:.0f} s")

        if servers:
            for label, server in servers:
                ready = server.wait_ready(timeout=300)
                setup.append(f"server ({label}): `serve --load` answered /healthz {ready:.0f} s after its start")
            throughputs, http_notes = asyncio.run(measure_http(servers, token, args))
            notes += http_notes
    notes.append(f"total {time.perf_counter() - started:.0f} s")
    report(args, setup, pages, throughputs, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
