"""The cost of a page, the figures issue 8's targets are about: the gateway over real HTTP against
what the same page costs without it, measured in the same run.

- **Gateway**: `instance-gateway serve` in a subprocess on MongoDB's wire protocol (the stub of
  stub_server.py, which answers every find at once), filled by `instance-gateway import`. Each
  request is a POST /graphql as the service owner ttd (so the read restriction is computed and
  merged into the query as in production) on one keep-alive connection, timed from the first
  byte sent to the last byte of the response received.
- **Baseline**: PyMongo (an AsyncMongoClient configured as the gateway's) reading the same number
  of documents from the same stub, `find(...).limit(n)` to a list, then `orjson.dumps` of them;
  the whole documents for a full selection, the selected top-level fields for the frontend's.
- The two take turns, request by request, after a warm-up; the figures are medians.
- **Memory**: a second gateway, fresh, warmed up with small requests, then one full-selection
  page of 1,000: how far its resident set rose above where it was (the peak, VmHWM, reset to the
  present RSS through /proc/PID/clear_refs first), against the size of the JSON response. The
  baseline's figure is the same of a fresh process that reads and dumps the same documents.

The stub keeps the caller's instances only, in the order the gateway's default order lists them,
so the pages are the ones MongoDB would answer; each answer is checked against that order.
"""

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.config import Settings
from app.store.database import Database, connect
from benchmarks.data import ORG
from benchmarks.http_client import HttpConnection, graphql_data, graphql_request
from benchmarks.measure import (
    MB,
    Comparison,
    driver_baseline,
    peak_increase,
    round_robin,
    runs_for,
)
from benchmarks.processes import REPO, GatewayServer
from benchmarks.queries import FRONTEND_PAGE, full_instance, full_page, leaves, top_level_fields

WHOLE = {"_id": 0}
MEMORY_PAGE = 1000
MEMORY_TARGET = 3.0


@dataclass
class Case:
    label: str
    request: bytes  # the prepared POST /graphql
    baseline: Callable[[], Awaitable[bytes]]
    instances: int
    target: float  # the issue's: at most this many times the baseline
    expected_ids: list[str]  # what the answer lists, in order


@dataclass
class CaseResult(Comparison):
    case: Case
    response_bytes: int


@dataclass
class MemoryResult:
    increase: int
    response_bytes: int
    was_reset: bool
    baseline_increase: int
    baseline_bytes: int

    @property
    def ratio(self) -> float:
        return self.increase / self.response_bytes

    @property
    def baseline_ratio(self) -> float:
        return self.baseline_increase / self.baseline_bytes


def open_database(mongodb_url: str, database: str) -> Database:
    """A client as the gateway opens it (tz-aware, its operation timeout)."""
    return connect(mongodb_url, database, timeout_ms=Settings(_env_file=None).mongodb_timeout_ms)


def cases(database: Database, ids: Sequence[str], token: str) -> list[Case]:
    instances = database.instances
    page = {"org": ORG}  # what the read restriction asks of a service owner's own instances
    frontend = {"_id": 0, **dict.fromkeys(top_level_fields(FRONTEND_PAGE), 1)}
    one = ids[len(ids) // 2]
    return [
        Case(
            "`instances(first: 1000)` full selection",
            graphql_request(full_page(), {"first": 1000}, token),
            driver_baseline(instances, page, WHOLE, 1000),
            1000,
            2.0,
            list(ids[:1000]),
        ),
        Case(
            "`instances(first: 20)` full selection",
            graphql_request(full_page(), {"first": 20}, token),
            driver_baseline(instances, page, WHOLE, 20),
            20,
            3.0,
            list(ids[:20]),
        ),
        Case(
            "`instance(id)` full selection",
            graphql_request(full_instance(), {"id": one}, token),
            driver_baseline(instances, {"id": one}, WHOLE, 1),
            1,
            3.0,
            [one],
        ),
        Case(
            "frontend selection, `instances(first: 100)`",
            graphql_request(FRONTEND_PAGE, {"first": 100}, token),
            driver_baseline(instances, page, frontend, 100),
            100,
            2.0,
            list(ids[:100]),
        ),
    ]


def _listed_ids(data: dict[str, Any]) -> list[str]:
    if "instance" in data:
        return [data["instance"]["id"]] if data["instance"] else []
    connection = data["instances"]
    nodes = connection.get("nodes") or [e["node"] for e in connection.get("edges") or []]
    return [n["id"] for n in nodes]


async def measure(
    server: GatewayServer, mongodb_url: str, database_name: str, ids: Sequence[str], token: str, scale: float
) -> list[CaseResult]:
    if len(ids) <= MEMORY_PAGE:
        raise ValueError(f"the stub needs more than {MEMORY_PAGE} instances of {ORG}, it has {len(ids)}")
    database = open_database(mongodb_url, database_name)
    connection = await HttpConnection.open(server.port)
    results = []
    try:
        for case in cases(database, ids, token):
            status, body = await connection.send(case.request)
            if _listed_ids(graphql_data(status, body)) != case.expected_ids:
                raise RuntimeError(f"{case.label}: the gateway did not answer the instances expected")

            async def gateway(case: Case = case) -> bytes:
                return (await connection.send(case.request))[1]

            runs = runs_for(case.instances, scale)
            timings = await round_robin({"gateway": gateway, "baseline": case.baseline}, runs, warmup=2 + runs // 10)
            results.append(CaseResult(runs, timings["gateway"], timings["baseline"], case, len(body)))
    finally:
        await connection.close()
        await database.close()
    return results


async def measure_memory(fresh: GatewayServer, mongodb_url: str, database_name: str, token: str) -> MemoryResult:
    """The peak RSS rise of a fresh gateway for one page of 1,000, after a warm-up of small ones."""
    connection = await HttpConnection.open(fresh.port)
    try:
        for request in (graphql_request(full_page(), {"first": 20}, token),) * 3:
            graphql_data(*await connection.send(request))
        large = graphql_request(full_page(), {"first": MEMORY_PAGE}, token)

        async def page() -> bytes:
            status, body = await connection.send(large)
            graphql_data(status, body)
            return body

        increase, size, was_reset = await peak_increase(fresh.pid, page)
    finally:
        await connection.close()
    probe = subprocess.run(
        [sys.executable, "-m", "benchmarks.page_cost", mongodb_url, database_name, str(MEMORY_PAGE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    baseline = json.loads(probe.stdout)
    return MemoryResult(increase, size, was_reset, baseline["increase"], baseline["bytes"])


async def _baseline_memory(mongodb_url: str, database_name: str, limit: int) -> dict[str, Any]:
    """The baseline's memory, in this (fresh) process: warmed up with a small read, then `limit`."""
    database = open_database(mongodb_url, database_name)
    try:
        await driver_baseline(database.instances, {"org": ORG}, WHOLE, 20)()
        read = driver_baseline(database.instances, {"org": ORG}, WHOLE, limit)
        increase, size, was_reset = await peak_increase("self", read)
    finally:
        await database.close()
    return {"increase": increase, "bytes": size, "reset": was_reset}


def report(results: list[CaseResult], memory: MemoryResult | None) -> list[str]:
    """The headline table, as Markdown."""

    def met(ratio: float, target: float) -> str:
        return f"≤{target:g}x: {'met' if ratio <= target else 'not met'}"

    lines = [
        f"| page (full selection: {leaves(full_page())} leaves per instance) | runs | gateway over HTTP "
        "| driver read + orjson | ratio | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        gateway, baseline = r.medians()
        lines.append(
            f"| {r.case.label} | {r.runs} | {gateway} | {baseline} | {r.ratio:.1f}x | {met(r.ratio, r.case.target)} |"
        )
    if memory is not None:
        lines.append(
            f"| memory, `instances(first: {MEMORY_PAGE})` full selection, fresh process | 1 "
            f"| peak RSS +{memory.increase / MB:.1f} MB for a {memory.response_bytes / MB:.1f} MB response "
            f"= {memory.ratio:.1f}x | peak RSS +{memory.baseline_increase / MB:.1f} MB for "
            f"{memory.baseline_bytes / MB:.1f} MB of JSON = {memory.baseline_ratio:.1f}x | "
            f"| {met(memory.ratio, MEMORY_TARGET)} |"
        )
    sizes = ", ".join(f"{r.case.label}: {r.response_bytes / 1024:.0f} KiB" for r in results)
    lines.append(f"\nresponses: {sizes}")
    if memory is not None and not memory.was_reset:
        lines.append("memory: the peak could not be reset (/proc/PID/clear_refs); the rise is above the start's peak")
    return lines


if __name__ == "__main__":
    # The baseline's memory probe: python -m benchmarks.page_cost MONGODB_URL DATABASE LIMIT
    url, name, count = sys.argv[1:4]
    print(json.dumps(asyncio.run(_baseline_memory(url, name, int(count)))))
