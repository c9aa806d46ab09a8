"""Requests per second under concurrency, over HTTP: `concurrency` keep-alive connections sending
back to back for `seconds`, the frontend selection's page of 20 against GET /healthz (the server's
floor: routing, middleware, the request log), on the headline's gateway. Requests still under way
when the time is up are dropped and not counted."""

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass

from benchmarks.http_client import HttpConnection, graphql_data, graphql_request
from benchmarks.measure import ms, percentile
from benchmarks.processes import GatewayServer
from benchmarks.queries import FRONTEND_PAGE


@dataclass
class Throughput:
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def load(server: GatewayServer, name: str, request: bytes, concurrency: int, seconds: float) -> Throughput:
    connections = [await HttpConnection.open(server.port) for _ in range(concurrency)]
    for connection in connections:  # warm-up, and the check that it succeeds
        status, body = await connection.send(request)
        if status != 200:
            raise RuntimeError(f"{name}: {status} {body[:300]!r}")
    latencies: list[float] = []
    start = time.perf_counter()

    async def worker(connection: HttpConnection) -> None:
        while True:
            began = time.perf_counter()
            await connection.send(request)
            latencies.append(time.perf_counter() - began)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(worker(c) for c in connections)), timeout=seconds)
    elapsed = time.perf_counter() - start
    for connection in connections:
        await connection.close()
    return Throughput(name, len(latencies), elapsed, latencies)


async def measure(server: GatewayServer, token: str, concurrency: int, seconds: float) -> list[Throughput]:
    page = graphql_request(FRONTEND_PAGE, {"first": 20}, token)
    check = await HttpConnection.open(server.port)
    graphql_data(*await check.send(page))
    await check.close()
    return [
        await load(server, "frontend page of 20", page, concurrency, seconds),
        await load(server, "GET /healthz", HttpConnection.prepare("GET", "/healthz"), concurrency, seconds),
    ]


def report(results: list[Throughput], concurrency: int) -> list[str]:
    healthz = results[-1]
    lines = [f"over HTTP, {concurrency} connections   requests  seconds   req/s  p50 ms  p95 ms  x healthz"]
    for r in results:
        lines.append(
            f"  {r.name:<30}{r.requests:>8}{r.seconds:>9.1f}{r.rps:>8.1f}{ms(statistics.median(r.latencies)):>8}"
            f"{ms(percentile(r.latencies, 95)):>8}{r.rps / healthz.rps:>11.3f}"
        )
    return lines
