"""`instance-gateway import`, run as a user runs it, into a fresh database on the wire-protocol
server; then, as a docker compose user would, a gateway serving what it imported."""

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from tests.cli_runs import run_cli
from tests.conftest import DEMO_POLICIES, running_gateway, user_token
from tests.factories import make_instance


@dataclass
class ImportTarget:
    """A database the import command writes to, and what it holds."""

    url: str
    database: str

    def run_import(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return run_cli("import", *args, url=self.url, database=self.database)

    def stored(self, collection: str) -> list[dict[str, Any]]:
        with MongoClient(self.url, serverSelectionTimeoutMS=5000) as client:
            return list(client[self.database][collection].find({}, {"_id": 0}))


@pytest.fixture
def target(wire_server_url: str) -> Iterator[ImportTarget]:
    target = ImportTarget(wire_server_url, f"gateway_test_{uuid.uuid4().hex[:12]}")
    yield target
    with MongoClient(wire_server_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(target.database)


def write_lines(path: Path, documents: list[Any]) -> Path:
    """NDJSON: document n is on line n, which is where errors point."""
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    return path


@pytest.mark.wire
def test_import_writes_the_valid_documents_and_reports_the_others_with_file_and_line(tmp_path, target):
    good = make_instance()
    instances = write_lines(tmp_path / "instances.ndjson", [good, {"id": "bad"}])
    roles = write_lines(
        tmp_path / "roles.ndjson", [{"userId": "2"}, {"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
    )

    result = target.run_import(instances, "--roles", roles)

    assert result.returncode == 1, result.stderr
    assert f"imported 1 instances into {target.database}.instances" in result.stdout
    assert f"imported 1 role grants into {target.database}.partyRoles" in result.stdout
    assert f"error: {instances}:2: " in result.stderr
    assert f"error: {roles}:1: userId and partyId are required" in result.stderr
    assert "1 documents not loaded" in result.stderr
    assert "1 role grants not loaded" in result.stderr
    assert [d["id"] for d in target.stored("instances")] == [good["id"]]
    assert target.stored("partyRoles") == [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]


@pytest.mark.wire
def test_a_broken_line_costs_that_line_alone_and_a_rerun_says_what_changed(tmp_path, target):
    documents = [make_instance() for _ in range(5)]
    lines = [json.dumps(d) for d in documents]
    lines[1] = "{broken"
    path = tmp_path / "instances.json"
    path.write_text("\n".join(lines) + "\n")

    first = target.run_import(path)
    documents[2]["lastChangedBy"] = "changed"
    lines[2] = json.dumps(documents[2])
    path.write_text("\n".join(lines) + "\n")
    again = target.run_import(path)

    assert first.returncode == again.returncode == 1
    assert f"error: {path}:2: Expecting property name" in first.stderr
    assert "1 documents not loaded" in first.stderr
    assert f"imported 4 instances into {target.database}.instances: 4 inserted, 0 updated, 0 unchanged" in first.stdout
    assert "imported 4 instances into" in again.stdout and ": 0 inserted, 1 updated, 3 unchanged" in again.stdout
    stored = {d["id"]: d for d in target.stored("instances")}
    assert stored.keys() == {d["id"] for i, d in enumerate(documents) if i != 1}
    assert stored[documents[2]["id"]]["lastChangedBy"] == "changed"


@pytest.mark.wire
def test_importing_again_replaces_each_document_by_id(tmp_path, target):
    documents = [make_instance() for _ in range(3)]
    grants = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
    instances, roles = write_lines(tmp_path / "instances.ndjson", documents), write_lines(tmp_path / "r.json", grants)
    assert target.run_import(instances, "--roles", roles).returncode == 0

    documents[0]["lastChangedBy"] = "changed"
    grants[0]["roles"] = ["DAGL", "REGNA"]
    write_lines(instances, documents)
    write_lines(roles, grants)
    again = target.run_import(instances, "--roles", roles)

    assert again.returncode == 0, again.stderr
    assert "imported 3 instances" in again.stdout
    assert "imported 1 role grants into" in again.stdout and ": 0 inserted, 1 updated, 0 unchanged" in again.stdout
    stored = {d["id"]: d for d in target.stored("instances")}
    assert stored.keys() == {d["id"] for d in documents}
    assert stored[documents[0]["id"]]["lastChangedBy"] == "changed"
    assert target.stored("partyRoles") == [{"userId": "1", "partyId": "500", "roles": ["DAGL", "REGNA"]}]


@pytest.mark.wire
async def test_imported_roles_let_end_users_read_their_parties_instances(tmp_path, target):
    # What a docker compose user does: import instances and roles, start the gateway on that
    # database, query as an end user. skjema-a's policy lets DAGL and REGNA read.
    of_party = {party: make_instance(party_id=party) for party in ("500", "700", "600")}
    instances = tmp_path / "instances.json"
    instances.write_text(json.dumps(list(of_party.values()), indent=2))
    grants = write_lines(tmp_path / "party-roles.json", [{"userId": "2", "partyId": "700", "roles": ["REGNA"]}])
    altinn_roles = tmp_path / "roles"
    (altinn_roles / "user_1" / "party_500").mkdir(parents=True)
    (altinn_roles / "user_1" / "party_500" / "roles.json").write_text('[{"Type": "altinn", "value": "DAGL"}]')

    result = target.run_import(instances, "--roles", grants, "--roles", altinn_roles)

    assert result.returncode == 0, result.stderr
    assert f"imported 3 instances into {target.database}.instances" in result.stdout
    assert f"imported 2 role grants into {target.database}.partyRoles" in result.stdout
    async with running_gateway(
        mongodb_url=target.url, mongodb_database=target.database, policy_dir=DEMO_POLICIES
    ) as gw:
        for user, party in (("1", "500"), ("2", "700")):
            data = await gw.data("{ instances { nodes { id } } }", token=user_token(user, user))
            assert [n["id"] for n in data["instances"]["nodes"]] == [of_party[party]["id"]]


def test_import_with_nothing_to_import_says_what_to_give():
    result = run_cli("import", url="mongodb://127.0.0.1:1")
    assert result.returncode == 2
    assert "give instance files (PATH ...), party roles (--roles PATH), or both" in result.stderr


def test_import_into_an_unreachable_database_names_it_without_credentials_and_says_why(tmp_path):
    # Slow by design: the driver waits out its server selection timeout (5 s) before giving up.
    instances = write_lines(tmp_path / "one.json", [make_instance()])
    roles = write_lines(tmp_path / "roles.json", [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}])
    result = run_cli(
        "import", instances, "--roles", roles, url="mongodb://gateway:hunter2@127.0.0.1:9/?authSource=admin"
    )
    assert result.returncode == 3
    assert (
        "error: the database at mongodb://127.0.0.1:9/?authSource=admin is unreachable: 127.0.0.1:9: " in result.stderr
    )
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
