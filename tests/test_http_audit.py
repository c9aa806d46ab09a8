"""GraphQL over HTTP conformance: graphql-http's server audit (npm package graphql-http, its
serverAudits) against the real server. Needs Node and `npm ci --prefix tests/http_audit`
(.ci/run does both); skipped without them."""

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import org_token
from tests.live_server import live_gateway

AUDIT = Path(__file__).parent / "http_audit"
NODE = shutil.which("node")


def test_graphql_over_http_audit_passes_without_warnings():
    if NODE is None:
        pytest.skip("Node is not installed (apt-get install nodejs npm)")
    if not (AUDIT / "node_modules" / "graphql-http").is_dir():
        pytest.skip("graphql-http is not installed: npm ci --prefix tests/http_audit")
    with live_gateway() as (host, port):
        audit = subprocess.run(
            [NODE, "audit.mjs"],
            cwd=AUDIT,
            env={
                "PATH": os.environ.get("PATH", ""),
                "AUDIT_URL": f"http://{host}:{port}/graphql",
                "AUDIT_TOKEN": org_token(),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert audit.returncode == 0, audit.stderr
    results = json.loads(audit.stdout)
    counts = Counter(result["status"] for result in results)
    print(f"graphql-http audit: {counts['ok']} ok, {counts['warn']} warn, {counts['error']} error of {len(results)}")
    failing = [f"{r['id']} {r['status']}: {r['name']}: {r['reason']}" for r in results if r["status"] != "ok"]
    for line in failing:
        print(line)
    assert counts["warn"] == counts["error"] == 0, failing
