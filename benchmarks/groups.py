"""Grouped counts: `instanceGroups(filter, by)` over HTTP against PyMongo's `aggregate` of the
same pipeline, on the same database, measured in the same run.

- **The database**: SecantusDB in a process of its own (subscriptions.py's), as the stub
  (stub_server.py) evaluates neither `$match` nor `$group`. It holds the whole data set, the
  other org's instances too, written by `instance-gateway import`, so the read restriction has
  something to leave out.
- **Gateway**: `instance-gateway serve`; POST /graphql as the service owner ttd on one keep-alive
  connection, timed from the first byte sent to the last byte received.
- **Baseline**: PyMongo's `aggregate` of the pipeline the gateway sends, to a list: built by
  app/store/groups.py's `group_pipeline` from the query compiled as the gateway compiles it (the
  caller's filter and the read restriction decided for the same token), so the database does the
  same work for both. What the gateway adds is the token, GraphQL, reading the groups' values as
  every read reads them, ordering them, and the JSON.
- The two take turns after a warm-up; the figures are medians.

Each answer is checked once: the pipeline the gateway sent (as its `extensions.explain` lists
it) is the baseline's, and its groups are the baseline's read and merged by `read_groups`.
"""

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import orjson

from app.authorization.access import Access
from app.authorization.identity import TokenVerifier
from app.composition import load_policies
from app.config import Settings
from app.enums import InstanceGroupKey
from app.store.commands import json_safe
from app.store.database import connect
from app.store.filters import compile_read_query
from app.store.groups import group_pipeline, read_groups
from benchmarks.data import SECRET, make_instances, service_owner_token, write_ndjson
from benchmarks.http_client import HttpConnection, graphql_data, graphql_request
from benchmarks.measure import Comparison, round_robin
from benchmarks.processes import DATABASE, POLICY_DIR, gateway_env, gateway_process, import_instances
from benchmarks.subscriptions import database_process

QUERY = """query Groups($filter: InstanceFilter, $by: [InstanceGroupKey!]!) {
  instanceGroups(filter: $filter, by: $by) {
    appId org currentTask readStatus isArchived isSoftDeleted isHardDeleted substatusLabel partyId
    createdMonth lastChangedMonth count
  }
}"""
RUNS = 20
# SecantusDB takes about half a second for an aggregation of the 5,000 instances on a quiet
# machine, longer on a busy one: past the gateway's default bound of an operation (1.5 s).
TIMEOUT_MS = 30_000
Row = tuple[tuple[Any, ...], int]  # a group's values in the order of `by`, and its count


@dataclass(frozen=True)
class Case:
    label: str
    filter: Mapping[str, Any] | None  # as the GraphQL variable, and so as the store compiles it
    by: tuple[InstanceGroupKey, ...]

    @property
    def variables(self) -> dict[str, Any]:
        return {"filter": self.filter, "by": [key.name for key in self.by]}


CASES = (
    Case("`by: [APP_ID, CURRENT_TASK]`", None, (InstanceGroupKey.APP_ID, InstanceGroupKey.CURRENT_TASK)),
    Case(
        "`by: [READ_STATUS, IS_SOFT_DELETED]`",
        None,
        (InstanceGroupKey.READ_STATUS, InstanceGroupKey.IS_SOFT_DELETED),
    ),
    Case(
        "`filter: {appId: {eq: ttd/skjema-a}}, by: [CREATED_MONTH]`",
        {"appId": {"eq": "ttd/skjema-a"}},
        (InstanceGroupKey.CREATED_MONTH,),
    ),
)


@dataclass
class Result(Comparison):
    case: Case
    groups: int
    instances: int
    response_bytes: int


async def service_owner_access(token: str, settings: Settings) -> Access:
    """What the gateway decides for this token: a service owner has no party roles to look up."""
    caller = await TokenVerifier(hs256_secret=SECRET).verify(token)
    return Access(caller=caller, roles_by_party={}, policies=load_policies(settings))


def baseline_pipeline(case: Case, access: Access, max_groups: int) -> list[dict[str, Any]]:
    """The pipeline the gateway sends for this case and caller (app/graphql/reads.py's
    count_groups, then the store's)."""
    query = compile_read_query(access.instance_filter(case.filter), access.read_restriction(datetime.now(UTC)))
    return group_pipeline(query, case.by, max_groups, embedded=False)


def _answer_value(value: Any) -> Any:
    return value.name if isinstance(value, Enum) else value  # a ReadStatus as GraphQL names it


def expected_rows(stored: Sequence[Mapping[str, Any]], by: Sequence[InstanceGroupKey], max_groups: int) -> list[Row]:
    """The groups a raw aggregation's answer makes once read and merged as the gateway does."""
    groups = read_groups(stored, by, max_groups, embedded=False)
    return [(tuple(_answer_value(g.values[key]) for key in by), g.count) for g in groups]


def answered_rows(data: Mapping[str, Any], by: Sequence[InstanceGroupKey]) -> list[Row]:
    """The groups of an `instanceGroups` answer, in its order."""
    return [(tuple(group[key.value] for key in by), group["count"]) for group in data["instanceGroups"]]


def explained_pipeline(answer: Mapping[str, Any]) -> list[Any]:
    """The pipeline of the one aggregation a request's `extensions.explain` lists."""
    (sent,) = [c["command"] for c in answer["extensions"]["explain"]["commands"] if "aggregate" in c["command"]]
    return list(sent["pipeline"])


async def _check(connection: HttpConnection, case: Case, token: str, pipeline: list[Any], stored: Any) -> None:
    body = orjson.dumps({"query": QUERY, "variables": case.variables, "extensions": {"explain": True}})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, answer = await connection.send(HttpConnection.prepare("POST", "/graphql", body, headers))
    graphql_data(status, answer)
    explained = orjson.loads(answer)
    if explained_pipeline(explained) != json_safe(pipeline):
        raise RuntimeError(f"{case.label}: the gateway sent another pipeline: {explained_pipeline(explained)}")
    max_groups = pipeline[-1]["$limit"] - 1
    if answered_rows(explained["data"], case.by) != expected_rows(stored, case.by, max_groups):
        raise RuntimeError(f"{case.label}: the gateway's groups are not the aggregation's")


async def _measure_cases(port: int, mongodb_url: str, token: str, scale: float) -> list[Result]:
    settings = Settings(_env_file=None, policy_dir=str(POLICY_DIR))
    access = await service_owner_access(token, settings)
    database = connect(mongodb_url, DATABASE, timeout_ms=TIMEOUT_MS)
    connection = await HttpConnection.open(port)
    results = []
    try:
        for case in CASES:
            pipeline = baseline_pipeline(case, access, settings.max_page_size)
            request = graphql_request(QUERY, case.variables, token)

            async def gateway(request: bytes = request) -> bytes:
                return (await connection.send(request))[1]

            async def baseline(pipeline: list[Any] = pipeline) -> list[dict[str, Any]]:
                return await (await database.instances.aggregate(pipeline)).to_list(None)

            stored = await baseline()
            await _check(connection, case, token, pipeline, stored)
            runs = max(3, round(RUNS * scale))
            timings = await round_robin({"gateway": gateway, "baseline": baseline}, runs, warmup=2 + runs // 10)
            size = len(await gateway())
            groups = len(expected_rows(stored, case.by, settings.max_page_size))
            instances = sum(group["count"] for group in stored)
            results.append(Result(runs, timings["gateway"], timings["baseline"], case, groups, instances, size))
    finally:
        await connection.close()
        await database.close()
    return results


def measure(instances: int, seed: int, scale: float) -> tuple[list[Result], list[str]]:
    """The cases, on a SecantusDB and a gateway of their own; the results and setup notes."""
    generated = make_instances(instances, seed)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gateway-bench-groups-")))
        began = time.perf_counter()
        url = stack.enter_context(database_process(workdir / "secantus"))
        env = gateway_env(url) | {"GATEWAY_MONGODB_TIMEOUT_MS": str(TIMEOUT_MS)}
        imported = import_instances(write_ndjson(generated, workdir / "instances.ndjson"), env, workdir)
        notes = [f"groups: SecantusDB {url} in its own process; `instance-gateway import` of all: {imported}"]
        gateway = stack.enter_context(gateway_process(env, workdir / "gateway"))
        notes.append(
            f"groups: gateway ready {gateway.wait_ready():.1f} s after its start "
            f"({time.perf_counter() - began:.1f} s with the database and the import); it and the baseline's "
            f"client bound an operation at {TIMEOUT_MS / 1000:.0f} s (GATEWAY_MONGODB_TIMEOUT_MS)"
        )
        results = asyncio.run(_measure_cases(gateway.port, url, service_owner_token(), scale))
    return results, notes


def _row(result: Result) -> str:
    gateway, baseline = result.medians()
    own_ms = (result.gateway.median - result.baseline.median) * 1000
    return (
        f"| {result.case.label} | {result.groups} ({result.instances:,}) | {result.runs} | {gateway} | {baseline} "
        f"| {result.ratio:.2f}x | {own_ms:.1f} ms |"
    )


def report(results: Sequence[Result]) -> list[str]:
    return [
        "Grouped counts: `instanceGroups` over HTTP vs. PyMongo's `aggregate` of the same pipeline to a list, "
        "same SecantusDB, taking turns; medians",
        "",
        "| `instanceGroups` as ttd | groups (instances) | runs | gateway over HTTP | driver aggregate | ratio "
        "| gateway - driver |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *map(_row, results),
        "",
        "SecantusDB (a Python server) takes most of both sides' time; the difference of the medians "
        "estimates the gateway's own part, as noisy as the database's time",
        "responses: " + ", ".join(f"{r.case.label}: {r.response_bytes:,} B" for r in results),
    ]
