"""Requests per second under concurrency, over HTTP, per number of worker processes: for each,
a gateway of its own (`instance-gateway serve --workers N`) on the headline's stub, and
`concurrency` keep-alive connections sending back to back for `seconds` from a load generator
in a process of its own (so that its work is not the measured gateway's, nor this process's):
the frontend selection's page of 20, `instance(id)` with the full selection, and GET /healthz
(the server's floor: routing, middleware, the request log). Requests still under way when the
time is up are dropped and not counted."""

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.http_client import HttpConnection, graphql_data, graphql_request
from benchmarks.measure import ms, percentile
from benchmarks.processes import GatewayServer, gateway_process
from benchmarks.queries import FRONTEND_PAGE, full_instance


@dataclass
class Throughput:
    workers: int
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class WorkerRun:
    """One gateway's cases, and the share of its requests each worker process served."""

    workers: int
    cases: list[Throughput]
    shares: list[float]


async def load(port: int, workers: int, name: str, request: bytes, concurrency: int, seconds: float) -> Throughput:
    connections = [await HttpConnection.open(port) for _ in range(concurrency)]
    for connection in connections:  # warm-up, and the check that it succeeds
        status, body = await connection.send(request)
        if status != 200:
            raise RuntimeError(f"{name}: {status} {body[:300]!r}")
    latencies: list[float] = []
    start = time.perf_counter()

    async def sender(connection: HttpConnection) -> None:
        while True:
            began = time.perf_counter()
            await connection.send(request)
            latencies.append(time.perf_counter() - began)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(sender(c) for c in connections)), timeout=seconds)
    elapsed = time.perf_counter() - start
    for connection in connections:
        await connection.close()
    return Throughput(workers, name, len(latencies), elapsed, latencies)


def _generate_load(port: int, workers: int, name: str, request: bytes, concurrency: int, seconds: float) -> Throughput:
    """`load` in the load generator's process."""
    return asyncio.run(load(port, workers, name, request, concurrency, seconds))


async def _each_worker_serving(server: GatewayServer, workers: int, request: bytes) -> dict[str, float]:
    """Requests on fresh connections until every worker has served one (a worker still starting
    would otherwise get no connection of the measurement); the requests of each, by PID."""
    served: dict[str, float] = {}
    while len(served) < workers:
        connection = await HttpConnection.open(server.port)
        graphql_data(*await connection.send(request))
        await connection.close()
        served = await _served_by_worker(server)
    return served


async def _served_by_worker(server: GatewayServer) -> dict[str, float]:
    connection = await HttpConnection.open(server.port)
    status, body = await connection.send(HttpConnection.prepare("GET", "/metrics"))
    await connection.close()
    if status != 200:
        raise RuntimeError(f"/metrics: {status} {body[:300]!r}")
    prefix = 'gateway_worker_requests_total{worker="'
    lines = [line.removeprefix(prefix).split('"} ') for line in body.decode().splitlines() if line.startswith(prefix)]
    return {pid: float(count) for pid, count in lines}


def measure(
    env: Mapping[str, str],
    workdir: Path,
    token: str,
    instance_id: str,
    worker_counts: Sequence[int],
    concurrency: int,
    seconds: float,
) -> list[WorkerRun]:
    page = graphql_request(FRONTEND_PAGE, {"first": 20}, token)
    cases = {
        "frontend page of 20": page,
        "`instance(id)`, full selection": graphql_request(full_instance(), {"id": instance_id}, token),
        "GET /healthz": HttpConnection.prepare("GET", "/healthz"),
    }
    runs = []
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as generator:
        for workers in worker_counts:
            with gateway_process(env, workdir / f"workers-{workers}", workers) as server:
                server.wait_ready()
                before = asyncio.run(_each_worker_serving(server, workers, page))
                measured = [
                    generator.submit(_generate_load, server.port, workers, name, request, concurrency, seconds).result()
                    for name, request in cases.items()
                ]
                after = asyncio.run(_served_by_worker(server))
            served = [after[pid] - before.get(pid, 0) for pid in after]
            runs.append(WorkerRun(workers, measured, [n / sum(served) for n in served]))
    return runs


def report(runs: list[WorkerRun], concurrency: int) -> list[str]:
    alone = {case.name: case.rps for case in runs[0].cases}
    lines = [
        f"Throughput over HTTP, {concurrency} keep-alive connections from a load generator process of its own",
        "",
        "| workers | case | requests | req/s | p50 ms | p95 ms | x healthz | x 1st row |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        healthz = run.cases[-1]
        for r in run.cases:
            lines.append(
                f"| {run.workers} | {r.name} | {r.requests} | {r.rps:.1f} | {ms(statistics.median(r.latencies))} | "
                f"{ms(percentile(r.latencies, 95))} | {r.rps / healthz.rps:.3f} | {r.rps / alone[r.name]:.2f} |"
            )
    for run in runs:
        shares = " / ".join(f"{share:.0%}" for share in sorted(run.shares, reverse=True))
        lines.append(f"  {run.workers} workers: each one's share of the GraphQL requests {shares}")
    return lines
