"""The `instance-gateway` command run as a user runs it: a process of its own, on a database."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET


def run_cli(*args: str | Path, url: str, database: str = "instances") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "GATEWAY_MONGODB_URL": url,
        "GATEWAY_MONGODB_DATABASE": database,
        "GATEWAY_JWT_SECRET": TEST_SECRET,
    }
    command = [sys.executable, "-m", "app.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
