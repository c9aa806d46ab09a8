"""The processes measured, each run as production runs it: the MongoDB stub, `instance-gateway
import` filling it, and `instance-gateway serve` on a free loopback port."""

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.data import SECRET
from benchmarks.stub_server import READY

REPO = Path(__file__).resolve().parents[1]
POLICY_DIR = REPO / "app" / "demo" / "policies"
DATABASE = "benchmark"


def _command() -> str:
    beside_python = Path(sys.executable).with_name("instance-gateway")
    return str(beside_python) if beside_python.exists() else shutil.which("instance-gateway") or "instance-gateway"


def gateway_env(mongodb_url: str, database: str = DATABASE) -> dict[str, str]:
    """The gateway's settings for the benchmark. The environment's own GATEWAY_* settings stay
    out, and so does any .env: the processes run in a folder of their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_MONGODB_URL": mongodb_url,
        "GATEWAY_MONGODB_DATABASE": database,
        "GATEWAY_JWT_SECRET": SECRET,
        "GATEWAY_POLICY_DIR": str(POLICY_DIR),
    }
    return env


def import_instances(data_file: Path, env: Mapping[str, str], workdir: Path) -> str:
    """`instance-gateway import FILE`; what it printed."""
    done = subprocess.run(
        [_command(), "import", str(data_file)], cwd=workdir, env=dict(env), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"`instance-gateway import` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class GatewayServer:
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    started: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 120) -> float:
        """Seconds from its start until /readyz answered 200 (the database prepared)."""
        while time.perf_counter() - self.started < timeout and self.process.poll() is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            with contextlib.suppress(OSError):
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return time.perf_counter() - self.started
            connection.close()
            time.sleep(0.2)
        raise RuntimeError(
            f"the gateway did not get ready (exit code {self.process.poll()}):\n{self.log_file.read_text()[-3000:]}"
        )


@contextlib.contextmanager
def gateway_process(env: Mapping[str, str], workdir: Path, workers: int = 1) -> Iterator[GatewayServer]:
    """`instance-gateway serve --workers N` on a free loopback port, its log in `workdir`, stopped
    when the block ends. It starts at once; `wait_ready` waits for it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_file = workdir / "server.log"
    command = [_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with open(log_file, "wb") as log:
        process = subprocess.Popen(command, cwd=workdir, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    with stopped(process):
        yield GatewayServer(port, process, log_file, time.perf_counter())


@contextlib.contextmanager
def stub_process() -> Iterator[str]:
    """The stub (stub_server.py) in a process of its own, so that its work is not done by the
    measuring process: its MongoDB URL, for the block."""
    command = [sys.executable, "-m", "benchmarks.stub_server"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process, stopped(process):
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(READY):
            raise RuntimeError(f"the stub server did not start (exit code {process.wait()}): {line!r}")
        yield line.removeprefix(READY).strip()


@contextlib.contextmanager
def stopped(process: subprocess.Popen[Any]) -> Iterator[None]:
    """Ends the process when the block ends: SIGTERM, then SIGKILL if it lingers."""
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
