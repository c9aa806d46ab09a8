"""`serve --workers N`: N processes serving one listening socket, under uvicorn's supervisor,
which replaces a worker that dies and, on SIGTERM or Ctrl+C, stops each one gracefully (each
lets its requests in flight finish, as a single process does).

Each worker is a fresh interpreter that builds its own app (uvicorn imports the factory its
configuration names): its own database client, change stream and caches. Their figures meet
in a folder of this serve's own, which /metrics reads whole, and which goes when they have all
stopped."""

import os
import socket
import tempfile

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from app.metrics import WORKERS_METRICS_DIR


def serve_workers(config: uvicorn.Config, listening: socket.socket) -> int:
    """Serve with `config.workers` processes until told to stop; the exit status: 0, or
    uvicorn's STARTUP_FAILURE when a worker could not start (the others are then stopped)."""
    with tempfile.TemporaryDirectory(prefix="instance-gateway-metrics-") as shared:
        os.environ[WORKERS_METRICS_DIR] = shared  # the workers inherit it
        supervisor = Multiprocess(config, sockets=[listening])
        supervisor.run()
    return STARTUP_FAILURE if any(w.exitcode == STARTUP_FAILURE for w in supervisor.processes) else 0
