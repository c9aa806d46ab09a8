"""Against a real MongoDB server: set GATEWAY_TEST_MONGODB_URL (e.g. mongodb://localhost:27017)."""

import os
import subprocess
import sys
import uuid

import pytest

from tests.factories import make_instance

MONGODB_URL = os.environ.get("GATEWAY_TEST_MONGODB_URL")
pytestmark = pytest.mark.skipif(
    not MONGODB_URL, reason="needs a MongoDB server: set GATEWAY_TEST_MONGODB_URL=mongodb://host:27017"
)


@pytest.fixture
def database_name():
    name = f"gateway_test_{uuid.uuid4().hex[:8]}"
    yield name
    from pymongo import MongoClient

    with MongoClient(MONGODB_URL) as client:
        client.drop_database(name)


async def test_read_and_change_against_a_real_server(gateway_with, database_name):
    documents = [make_instance(created=f"2020-0{i % 9 + 1}-01T00:00:00Z") for i in range(30)]
    async with gateway_with(documents, mongodb_url=MONGODB_URL, mongodb_database=database_name) as gw:
        seen, after = [], None
        while True:
            page = (
                await gw.data(
                    "query($after: String) { instances(first: 7, after: $after, orderBy: [{field: CREATED}]) "
                    "{ totalCount pageInfo { hasNextPage endCursor } nodes { id } } }",
                    {"after": after},
                )
            )["instances"]
            assert page["totalCount"] == 30
            seen += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert sorted(seen) == sorted(d["id"] for d in documents)
        changed = await gw.data(
            "mutation($id: ID!) { deleteInstance(instanceId: $id, hard: true) "
            "{ status { isHardDeleted } events { eventType } } }",
            {"id": documents[0]["id"]},
        )
        assert changed["deleteInstance"]["status"]["isHardDeleted"] is True
        assert [e["eventType"] for e in changed["deleteInstance"]["events"]] == ["Deleted"]


def test_import_upserts_and_reports_errors(tmp_path, database_name):
    import json

    path = tmp_path / "batch.json"
    path.write_text(json.dumps([make_instance(), {"id": "bad"}], indent=2))
    env = {
        "PATH": "/usr/bin:/bin",
        "GATEWAY_MONGODB_URL": MONGODB_URL,
        "GATEWAY_MONGODB_DATABASE": database_name,
        "GATEWAY_JWT_SECRET": "x" * 32,
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", str(path)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert "imported 1 instances" in result.stdout
    assert f"{path}:" in result.stderr
