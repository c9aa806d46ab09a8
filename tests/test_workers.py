"""`instance-gateway serve --workers N`: N processes on one port, run as a user runs them, and
/metrics adding up the figures of every worker process."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import WORKERS_METRICS_DIR, Metrics
from tests.conftest import TEST_SECRET, Store, open_store, org_token
from tests.websocket_client import subscribed

QUERY = "{ instances { totalCount } }"
SMUGGLING = b"POST /graphql HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
NOT_SCRAPES = httpx.Limits(max_keepalive_connections=0)  # a connection a request: any worker may take it


def _environment(tmp_path: Path, **settings: object) -> dict[str, str]:
    gateway = {f"GATEWAY_{name.upper()}": str(value) for name, value in settings.items()}
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path), **gateway}


def _serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "app.cli", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(("args", "settings"), [(["--workers", "2"], {}), ([], {"workers": 3})])
def test_more_than_one_worker_on_the_embedded_store_is_refused_saying_why(tmp_path, args, settings):
    result = _serve(*args, "--demo", env=_environment(tmp_path, **settings))
    assert result.returncode == 2
    assert "need GATEWAY_MONGODB_URL: on the embedded store each worker would hold in-memory data" in result.stderr


def test_workers_must_be_a_positive_number(tmp_path):
    result = _serve("--workers", "0", env=_environment(tmp_path))
    assert result.returncode == 2
    assert "argument --workers: '0' is not a positive whole number" in result.stderr


@pytest.fixture
def wire_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from open_store(request, "wire")


def _figures(exposition: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each sample's value by its name and labels."""
    figures: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            figures.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return figures


async def _scrape(client: httpx.AsyncClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return _figures(response.text)


async def _until_open_subscriptions(client: httpx.AsyncClient, count: float) -> None:
    # Each worker writes its count every second; the scrapes reach either worker.
    deadline = time.monotonic() + 20
    while (await _scrape(client))["gateway_open_subscriptions"][()] != count:
        assert time.monotonic() < deadline, f"never {count} open subscriptions"
        await asyncio.sleep(0.2)


@pytest.mark.wire
async def test_two_workers_share_the_port_count_every_request_together_and_stop_on_sigterm(wire_store, tmp_path):
    env = _environment(tmp_path, jwt_secret=TEST_SECRET, **wire_store.settings())
    token = org_token()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", "0", "--workers", "2"]
    with (
        (tmp_path / "server.log").open("w+") as log,
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=log, text=True) as server,
    ):
        try:
            assert server.stdout is not None
            announced = [server.stdout.readline() for _ in range(2)]
            assert announced[0].startswith("instance-gateway: 2 worker processes")
            url = announced[1].split("GraphiQL at ")[1].strip().removesuffix("/graphql")
            url_parts = urlsplit(url)
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=url, limits=NOT_SCRAPES, timeout=30) as client:
                # Until both workers have served: the second may still be starting.
                sent, workers = 0, {}
                while len(workers) < 2 and sent < 300:
                    for _ in range(10):
                        response = await client.post("/graphql", json={"query": QUERY}, headers=auth)
                        assert response.json() == {"data": {"instances": {"totalCount": 0}}}
                        sent += 1
                    figures = await _scrape(client)
                    workers = {
                        dict(labels)["worker"]: n for labels, n in figures["gateway_worker_requests_total"].items()
                    }
                assert len(workers) == 2, f"one worker served all {sent} requests"
                assert sum(workers.values()) == sent
                assert sum(figures["gateway_requests_total"].values()) == sent
                assert sum(figures["gateway_request_duration_seconds_count"].values()) == sent

                ws_url = url.replace("http://", "ws://") + "/graphql"
                async with subscribed(ws_url, token, "subscription { instanceChanged { instanceId } }"):
                    await _until_open_subscriptions(client, 1)
                    for _ in range(6):  # whichever worker answers, the subscription is counted once
                        assert (await _scrape(client))["gateway_open_subscriptions"][()] == 1
                await _until_open_subscriptions(client, 0)
            for _ in range(4):  # whichever worker takes it serves the hardened protocol: a JSON refusal
                reader, writer = await asyncio.open_connection(url_parts.hostname, url_parts.port)
                writer.write(SMUGGLING)
                refusal = await reader.read()
                writer.close()
                assert refusal.startswith(b"HTTP/1.1 400 ") and b'"BAD_USER_INPUT"' in refusal
            server.send_signal(signal.SIGTERM)
            exit_code = server.wait(timeout=40)
        finally:
            server.kill()  # nothing once it has exited; leaving the block waits for it
        log.seek(0)
        logged = log.read()
    assert exit_code == 0
    assert logged.count("stopped: the database client is closed") == 2, "each worker shut down gracefully"
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    assert not list(tmp_path.glob("instance-gateway-metrics-*")), "the workers' figures are removed"


SAMPLING_WORKER = """
import sys, time
from app.metrics import Metrics
metrics = Metrics()
metrics.sample(metrics.open_subscriptions, lambda: int(sys.argv[1]))
print("sampling", flush=True)
time.sleep(60)
"""


@contextlib.contextmanager
def _sampling_worker(shared_dir: Path, open_subscriptions: int) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, WORKERS_METRICS_DIR: str(shared_dir)}
    command = [sys.executable, "-c", SAMPLING_WORKER, str(open_subscriptions)]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as worker:
        assert worker.stdout is not None and worker.stdout.readline() == "sampling\n"
        try:
            yield worker
        finally:
            worker.kill()


def _until_gauge(metrics: Metrics, value: float) -> None:
    deadline = time.monotonic() + 20
    while _figures(metrics.exposition().decode())["gateway_open_subscriptions"][()] != value:
        assert time.monotonic() < deadline, f"the open subscriptions never added up to {value}"
        time.sleep(0.1)


def test_the_workers_gauges_add_up_and_a_dead_workers_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_METRICS_DIR, str(tmp_path))
    scraping = Metrics()
    with _sampling_worker(tmp_path, 2) as crashing, _sampling_worker(tmp_path, 3):
        _until_gauge(scraping, 5)
        crashing.kill()
        crashing.wait()
        _until_gauge(scraping, 3)  # the live worker drops the dead one's
