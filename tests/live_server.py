"""A real gateway server for tests that need one: uvicorn with the protocols `instance-gateway
serve` uses, on a free port of 127.0.0.1, in a thread of the test process."""

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn

from app.composition import create_app
from app.config import Settings
from app.http.server import server_protocols
from app.store.database import Database
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.conftest import TEST_SECRET


@dataclass
class LiveGateway:
    host: str
    port: int
    app: Any
    loop: asyncio.AbstractEventLoop  # the server's; its database calls must run there
    server: uvicorn.Server

    def __iter__(self) -> Iterator[Any]:
        return iter((self.host, self.port))

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/graphql"

    @property
    def database(self) -> Database:
        return self.app.state.services.database

    async def on_server(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Run `work` on the server's event loop (the embedded store lives there)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    async def subscribers(self, count: int, timeout: float = 10) -> None:
        """Wait until the gateway's change hub has `count` subscribers."""
        await _until(lambda: self.app.state.services.live.subscriber_count, count, "subscribers", timeout)

    async def connections(self, count: int, timeout: float = 10) -> None:
        """Wait until the server holds `count` connections open, HTTP and WebSocket."""
        await _until(lambda: len(self.server.server_state.connections), count, "connections", timeout)


async def _until(count_of: Callable[[], int], count: int, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (counted := count_of()) != count:
        assert time.monotonic() < deadline, f"{counted} {what}"
        await asyncio.sleep(0.01)


@contextlib.contextmanager
def live_gateway(
    instances: Sequence[dict[str, Any]] = (),
    roles: Sequence[dict[str, Any]] = (),
    send_buffer_bytes: int | None = None,
    **settings: Any,
) -> Iterator[LiveGateway]:
    """The gateway with these settings (the embedded store unless they name a MongoDB),
    holding these documents; yields where it listens. `send_buffer_bytes` fixes the size of
    each connection's socket send buffer, which the system otherwise grows to megabytes, so that
    what a client leaves unread backs up into the server's own buffer after a few kilobytes."""
    config = Settings(_env_file=None, **{"jwt_secret": TEST_SECRET, **settings})
    documents = [normalize_instance(d) for d in instances]
    loops: list[asyncio.AbstractEventLoop] = []

    async def seed(database: Database) -> None:
        loops.append(asyncio.get_running_loop())
        await write_all(database, documents, list(roles))

    app = create_app(config, seed=seed)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on", **server_protocols(config))
    )
    thread = threading.Thread(target=server.run, name="live-gateway")
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not (server.started and loops):
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        listening = server.servers[0].sockets[0]
        if send_buffer_bytes is not None:  # each connection takes it from the listening socket
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
        host, port = listening.getsockname()[:2]
        yield LiveGateway(host, port, app, loops[0], server)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
