"""A database that is down, hung, or back again: the gateway starts anyway, answers
SERVICE_UNAVAILABLE within 2 s, reports itself not ready, and recovers by itself. And it
stops gracefully: in-flight requests finish before the database client closes."""

import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
    WTimeoutError,
)
from pymongo.uri_parser import parse_uri

from app.config import Settings
from app.errors import ServiceUnavailable
from app.http import readiness
from app.store.database import driver_errors
from tests.conftest import DEMO_POLICIES, TEST_SECRET, org_token, running_gateway
from tests.factories import make_instance

QUERY = "{ instances(first: 1) { totalCount } }"
BULK_DELETE = """mutation { deleteInstances(filter: {appId: {eq: "ttd/skjema-a"}}, dryRun: false) {
  matched deleted failed { instanceId code } } }"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def hung_database() -> Iterator[int]:
    """A server that accepts connections and never answers; its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once, where close() would not
        listener.close()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        # PyMongo's server monitor drops, without closing it, the socket of a handshake that a
        # closing client cancels: collected here, its warning belongs to this test.
        gc.collect()


@pytest.fixture(params=["refused", "hung"])
def dead_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a database that refuses connections, or of one that never answers."""
    if request.param == "refused":
        yield f"mongodb://127.0.0.1:{_free_port()}/"
        return
    with hung_database() as port:
        yield f"mongodb://127.0.0.1:{port}/"


def _codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


async def _timed(operation) -> tuple[float, object]:
    started = time.perf_counter()
    result = await operation
    return time.perf_counter() - started, result


async def _wait_until_ready(gw, timeout: float) -> float:
    """Seconds until /readyz answers 200."""
    started = time.perf_counter()
    while (await gw.http.get("/readyz")).status_code != 200:
        assert time.perf_counter() - started < timeout, "not ready in time"
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


# The default database timeout keeps answers within 2 s; the tests below run with a shorter
# one, so that a loaded machine cannot make them miss 2 s by the timeout's own margin.
SHORT_TIMEOUT = {"mongodb_timeout_ms": 500}


def test_the_default_database_timeout_answers_within_2s():
    assert Settings(_env_file=None).mongodb_timeout_ms <= 1500


@pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning")
async def test_without_a_database_it_starts_and_answers_service_unavailable_within_2s(dead_database, caplog):
    started = time.perf_counter()
    async with running_gateway(mongodb_url=dead_database, policy_dir=DEMO_POLICIES, **SHORT_TIMEOUT) as gw:
        start = time.perf_counter() - started
        query_time, body = await _timed(gw.query(QUERY))
        mutation_time, changes = await _timed(gw.query(BULK_DELETE))
        ready = await gw.http.get("/readyz")
        health = await gw.http.get("/healthz")
    print(f"{dead_database}: start {start:.2f}s, query {query_time:.2f}s, mutation {mutation_time:.2f}s")
    assert start < 2
    assert query_time < 2
    assert _codes(body) == ["SERVICE_UNAVAILABLE"]
    assert mutation_time < 2
    assert _codes(changes) == ["SERVICE_UNAVAILABLE"]
    assert ready.status_code == 503
    assert ready.json()["reason"] == "the database has not answered since the gateway started"
    assert health.status_code == 200
    [line] = [r for r in caplog.records if "does not answer" in r.getMessage()]
    assert line.exc_info is None  # one clear line, no traceback


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ServerSelectionTimeoutError("no servers found"), "unreachable"),
        (AutoReconnect("connection reset"), "unreachable"),
        (NetworkTimeout("timed out"), "did not answer in time"),
        (ExecutionTimeout("operation exceeded time limit", code=50), "did not answer in time"),
        (OperationFailure("operation exceeded time limit", code=50), "did not answer in time"),
        (WaitQueueTimeoutError("no connection free"), "did not answer in time"),
        (WTimeoutError("waiting for replication timed out", code=64), "did not answer in time"),
    ],
)
def test_the_driver_s_unreachable_and_timeout_errors_are_service_unavailable(error, message):
    with pytest.raises(ServiceUnavailable, match=message), driver_errors():
        raise error


def test_other_driver_errors_stay_internal():
    with pytest.raises(DuplicateKeyError), driver_errors():
        raise DuplicateKeyError("E11000 duplicate key", code=11000)


async def test_once_a_request_finds_the_database_unavailable_it_stops_waiting_for_it(gateway_with):
    """A bulk delete goes on after an instance fails; were it to wait for the database for
    each instance, an outage would hold it for one timeout per instance."""
    async with gateway_with([make_instance() for _ in range(5)]) as gw:
        instances = gw.http._transport.app.state.services.database.instances
        calls = []

        def hung(*args, **kwargs):
            calls.append(args)
            raise NetworkTimeout("timed out")

        instances.update_one = instances.find_one_and_update = hung
        body = await gw.data(BULK_DELETE)
    result = body["deleteInstances"]
    assert (result["matched"], result["deleted"]) == (5, 0)
    assert [failure["code"] for failure in result["failed"]] == ["SERVICE_UNAVAILABLE"] * 5
    assert len(calls) == 1


@pytest.mark.wire
async def test_it_recovers_by_itself_when_the_database_returns(tmp_path):
    secantus = pytest.importorskip("secantus", reason="needs secantusdb (pip install '.[test]')")
    port = _free_port()
    settings = {"mongodb_url": f"mongodb://127.0.0.1:{port}/", "mongodb_database": "back", "policy_dir": DEMO_POLICIES}
    with contextlib.ExitStack() as database:  # stops the server after the gateway
        async with running_gateway([make_instance()], **settings) as gw:
            assert (await gw.http.get("/readyz")).status_code == 503
            assert _codes(await gw.query(QUERY)) == ["SERVICE_UNAVAILABLE"]
            server = database.enter_context(secantus.SecantusDBServer(storage_path=str(tmp_path), port=port))
            recovery = await _wait_until_ready(gw, timeout=10)
            print(f"ready {recovery:.2f}s after the database returned")
            # Prepared once it answered: the seed is there, and the indexes.
            assert await gw.data(QUERY) == {"instances": {"totalCount": 1}}
            with MongoClient(server.uri, serverSelectionTimeoutMS=5000) as client:
                indexes = client["back"]["instances"].index_information()
    assert recovery < 5
    assert "instanceOwner.partyId_1_id_1" in indexes
    assert len(indexes) >= 15


class PausingProxy:
    """A TCP proxy that can stop passing bytes on, as a database that hangs does."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def __aenter__(self) -> "PausingProxy":
        self.server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.flowing.set()
        self.server.close()
        await self.server.wait_closed()

    async def _connect(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.mark.wire
async def test_a_database_that_hangs_while_serving_is_service_unavailable_within_2s(wire_server_url):
    host, port = parse_uri(wire_server_url)["nodelist"][0]
    database = f"gateway_test_hang_{os.getpid()}"
    async with PausingProxy(host, port) as proxy:
        url = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
        settings = {"mongodb_url": url, "mongodb_database": database, "policy_dir": DEMO_POLICIES, **SHORT_TIMEOUT}
        async with running_gateway([make_instance()], **settings) as gw:
            assert await gw.data(QUERY) == {"instances": {"totalCount": 1}}
            proxy.flowing.clear()
            query_time, body = await _timed(gw.query(QUERY))
            ready = await gw.http.get("/readyz")
            proxy.flowing.set()
            recovery = await _wait_until_ready(gw, timeout=10)
            assert await gw.data(QUERY) == {"instances": {"totalCount": 1}}
    with MongoClient(wire_server_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(database)
    print(f"hung while serving: SERVICE_UNAVAILABLE after {query_time:.2f}s, ready {recovery:.2f}s after it answered")
    assert query_time < 2
    assert _codes(body) == ["SERVICE_UNAVAILABLE"]
    assert "did not answer in time" in body["errors"][0]["message"]
    assert ready.status_code == 503
    assert recovery < 5


def test_sigterm_lets_the_request_in_flight_finish_then_closes_the_database(tmp_path: Path):
    """`instance-gateway serve` as it runs in a container: stopped while a request waits for a
    hung database, it answers that request, then closes the database client and exits 0."""
    port = _free_port()
    with hung_database() as database_port, (tmp_path / "server.log").open("w+") as log:
        environment = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "GATEWAY_MONGODB_URL": f"mongodb://127.0.0.1:{database_port}/",
            "GATEWAY_JWT_SECRET": TEST_SECRET,
            "GATEWAY_POLICY_DIR": str(DEMO_POLICIES),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _wait_for_health(f"http://127.0.0.1:{port}/healthz", server, timeout=30)
            answers: list[dict] = []
            request = threading.Thread(target=lambda: answers.append(_post_query(port)))
            request.start()
            time.sleep(0.5)  # the request now waits for the database, up to 1.5 s
            server.send_signal(signal.SIGTERM)
            request.join(timeout=10)
            exit_code = server.wait(timeout=20)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        log.seek(0)
        lines = [json.loads(line) for line in log.read().splitlines()]  # every line is JSON
    assert exit_code == -signal.SIGTERM, "uvicorn stops, then raises the signal again: a clean stop"
    assert [_codes(answer) for answer in answers] == [["SERVICE_UNAVAILABLE"]]
    messages = [line["message"] for line in lines]
    answered = next(i for i, line in enumerate(lines) if line.get("path") == "/graphql")
    closed = messages.index("stopped: the database client is closed")
    assert answered < closed


def _wait_for_health(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def _post_query(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Authorization": f"Bearer {org_token()}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_stopping_ends_the_retries_even_when_a_ping_swallows_the_cancellation(monkeypatch):
    """The driver may answer a cancellation inside a ping with a failed ping; stopping must
    still end the background retries, or shutdown waits forever."""

    class SwallowingDatabase:
        pings = 0

        async def ping(self, timeout_ms: int) -> None:
            self.pings += 1
            if self.pings > 1:  # the first, at start, fails at once
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(3600)
            raise ServiceUnavailable("the database is unreachable")

        def describe_failure(self, error: ServiceUnavailable) -> str:
            return error.message

    monkeypatch.setattr(readiness, "RETRY_SECONDS", 0)
    checks = readiness.Readiness(SwallowingDatabase(), prepare=None, ping_timeout_ms=100)
    await checks.start()
    await asyncio.sleep(0.05)  # the retry loop is inside a ping now
    await asyncio.wait_for(checks.stop(), timeout=2)
