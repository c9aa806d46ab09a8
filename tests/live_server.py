"""A real gateway server for tests that need one: uvicorn with the protocol `instance-gateway
serve` uses, on a free port of 127.0.0.1, in a thread of the test process."""

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from app.config import Settings
from app.http.app import create_app
from app.http.server import http_protocol
from tests.conftest import TEST_SECRET


@contextlib.contextmanager
def live_gateway(**settings: Any) -> Iterator[tuple[str, int]]:
    """The gateway on the embedded store with these settings; yields its (host, port)."""
    config = Settings(_env_file=None, **{"jwt_secret": TEST_SECRET, **settings})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config), host="127.0.0.1", port=0, http=http_protocol(config), log_config=None, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="live-gateway")
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        yield host, port
    finally:
        server.should_exit = True
        thread.join(timeout=20)
