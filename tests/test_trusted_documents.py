"""Trusted documents: a manifest (Apollo's, or a flat hash map) checked at start, its documents
named by `documentId` or by the APQ hash; with GATEWAY_TRUSTED_DOCUMENTS_ONLY nothing else runs,
over HTTP or WebSocket, and what is refused is never parsed. The CLI builds the manifest."""

import hashlib
import json

import graphql
import pytest
import strawberry

from app.cli import main
from app.composition import create_app
from app.config import Settings
from app.graphql import document_cache
from app.graphql.document_cache import MAX_CACHED_QUERY_CHARS, validate_within_limits
from app.graphql.trusted_documents import ManifestError
from tests.conftest import TEST_SECRET, org_token, running_gateway
from tests.factories import make_instance
from tests.live_server import live_gateway
from tests.websocket_client import graphql_socket

COUNT = "query Count { instances { totalCount } }"
CHANGES = "subscription Changes { instanceChanged { instanceId } }"
NOT_TRUSTED = "{ instances(first: 2) { totalCount } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apollo_manifest(*bodies: str) -> dict:
    operations = [{"id": sha256(b), "name": f"Op{i}", "type": "query", "body": b} for i, b in enumerate(bodies)]
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}


def write(tmp_path, manifest: object, name: str = "manifest.json"):
    path = tmp_path / name
    path.write_text(json.dumps(manifest))
    return path


@pytest.fixture(params=["apollo", "flat"])
def manifest(request, tmp_path):
    """COUNT and CHANGES in either format the gateway reads."""
    bodies = (COUNT, CHANGES)
    content = apollo_manifest(*bodies) if request.param == "apollo" else {sha256(b): b for b in bodies}
    return write(tmp_path, content)


async def post(gw, body: dict, **headers: str):
    return await gw.http.post("/graphql", json=body, headers={"Authorization": f"Bearer {org_token()}", **headers})


def code_of(response) -> str:
    (error,) = response.json()["errors"]
    return error["extensions"]["code"]


async def test_a_trusted_document_runs_by_documentId_over_post_and_get_and_by_apq_hash(gateway_with, manifest):
    async with gateway_with([make_instance()], trusted_documents=manifest) as gw:
        by_id = await post(gw, {"documentId": f"sha256:{sha256(COUNT)}"})
        by_get = await gw.http.get(
            "/graphql",
            params={"documentId": f"sha256:{sha256(COUNT)}"},
            headers={"Authorization": f"Bearer {org_token()}", "accept": "*/*"},
        )
        by_hash = await post(gw, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(COUNT)}}})
        free_text = await post(gw, {"query": NOT_TRUSTED})  # not trusted-only: any document runs
    for response in (by_id, by_get, by_hash):
        assert response.json() == {"data": {"instances": {"totalCount": 1}}}
    assert free_text.json() == {"data": {"instances": {"totalCount": 1}}}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"documentId": f"sha256:{sha256(NOT_TRUSTED)}"}, 200, "PERSISTED_QUERY_NOT_FOUND"),
        ({"documentId": sha256(COUNT)}, 400, "BAD_USER_INPUT"),  # without its prefix
        ({"documentId": f"sha256:{sha256(COUNT)}", "query": COUNT}, 400, "BAD_USER_INPUT"),
    ],
)
async def test_a_document_id_not_known_or_malformed_is_a_clear_error(gateway_with, manifest, body, status, code):
    async with gateway_with(trusted_documents=manifest) as gw:
        response = await post(gw, body)
    assert (response.status_code, code_of(response)) == (status, code)


async def test_trusted_only_runs_the_manifests_documents_and_refuses_every_other(gateway_with, manifest):
    hash_only = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(NOT_TRUSTED)}}}
    registration = {"query": NOT_TRUSTED, **hash_only}
    async with gateway_with([make_instance()], trusted_documents=manifest, trusted_documents_only=True) as gw:
        by_id = await post(gw, {"documentId": f"sha256:{sha256(COUNT)}"})
        as_text = await post(gw, {"query": COUNT})  # the very text of a trusted document
        free_text = await post(gw, {"query": NOT_TRUSTED})
        registered = await post(gw, registration)
        unknown = await post(gw, hash_only)
        no_document = await post(gw, {})
        by_graphql_response = await post(gw, {"query": NOT_TRUSTED}, accept="application/graphql-response+json")
    assert by_id.json() == as_text.json() == {"data": {"instances": {"totalCount": 1}}}
    for refused in (free_text, registered, no_document, by_graphql_response):
        assert (refused.status_code, code_of(refused)) == (400, "TRUSTED_DOCUMENTS_ONLY")
        assert "documentId" in refused.json()["errors"][0]["message"]
    assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"  # the registration was refused, so nothing kept


async def test_trusted_only_refuses_a_large_document_before_parsing_it(gateway_with, manifest):
    # Broken GraphQL of about 1 MB: were it parsed, the answer would be its syntax error.
    hostile = "{ instances { " + "nodes { id } " * 80_000
    async with gateway_with(trusted_documents=manifest, trusted_documents_only=True, max_body_bytes=2_000_000) as gw:
        response = await post(gw, {"query": hostile})
    assert code_of(response) == "TRUSTED_DOCUMENTS_ONLY"


async def test_a_trusted_document_of_any_length_is_parsed_and_validated_once(gateway_with, tmp_path, monkeypatch):
    # Longer than the document cache keeps of free text: a manifest's documents are known and
    # bounded, so they are kept whatever their length.
    long_count = COUNT + "\n# " + "x" * MAX_CACHED_QUERY_CHARS
    parsed: list[str] = []
    validated: list[object] = []

    def counting_parse(query: str, **options: object) -> object:
        parsed.append(query)
        return graphql.parse(query, **options)

    def counting_validation(*args: object) -> object:
        validated.append(args)
        return validate_within_limits(*args)

    for module in (strawberry.schema.schema, document_cache):
        monkeypatch.setattr(module, "parse", counting_parse)
    monkeypatch.setattr(document_cache, "validate_within_limits", counting_validation)
    trusted = write(tmp_path, {sha256(long_count): long_count})
    async with gateway_with([make_instance()], trusted_documents=trusted, trusted_documents_only=True) as gw:
        answers = [(await post(gw, {"documentId": f"sha256:{sha256(long_count)}"})).json() for _ in range(3)]
    assert answers == [{"data": {"instances": {"totalCount": 1}}}] * 3
    assert (len(parsed), len(validated)) == (1, 1)


async def test_graphiql_says_it_is_of_no_use_when_only_trusted_documents_run(manifest):
    async with running_gateway(trusted_documents=manifest, trusted_documents_only=True) as gw:
        page = (await gw.http.get("/graphql", headers={"accept": "text/html"})).text
    assert 'id="trusted-only-note"' in page
    assert "of no use here" in page


async def test_trusted_only_holds_over_websocket_too(manifest):
    with live_gateway(trusted_documents=manifest, trusted_documents_only=True) as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            assert (await socket.init(org_token()))["type"] == "connection_ack"
            await socket.send({"type": "subscribe", "id": "free", "payload": {"query": CHANGES + " "}})
            refused = await socket.receive()
            trusted = {"documentId": f"sha256:{sha256(CHANGES)}"}
            await socket.send({"type": "subscribe", "id": "trusted", "payload": trusted})
            await gateway.subscribers(1)
    assert refused["type"] == "error" and refused["id"] == "free"
    assert refused["payload"][0]["extensions"]["code"] == "TRUSTED_DOCUMENTS_ONLY"


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        ("not json", "is not JSON"),
        ([COUNT], "must be a JSON object"),
        ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "version 2 is not known"),
        ({**apollo_manifest(COUNT), "operations": "none"}, "must be a list"),
        ({sha256(NOT_TRUSTED): COUNT}, f"is named {sha256(NOT_TRUSTED)}, but its text's SHA-256 is {sha256(COUNT)}"),
        (apollo_manifest(COUNT) | {"operations": [{"id": "Count-1", "name": "Count", "body": COUNT}]}, "Count"),
        ({sha256(COUNT): ""}, "has no document text"),
    ],
)
def test_a_manifest_that_cannot_be_trusted_stops_the_start_with_a_message_naming_it(tmp_path, manifest, says):
    path = tmp_path / "manifest.json"
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(ManifestError, match="GATEWAY_TRUSTED_DOCUMENTS") as refused:
        create_app(Settings(_env_file=None, jwt_secret=TEST_SECRET, trusted_documents=path))
    assert says in str(refused.value)


def test_serve_says_what_is_wrong_with_the_manifest_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_TRUSTED_DOCUMENTS", str(tmp_path / "missing.json"))
    assert main(["serve", "--port", "0"]) == 2
    assert "missing.json) cannot be read" in capsys.readouterr().err


def test_trusted_only_without_a_manifest_is_refused_at_start():
    with pytest.raises(ManifestError, match="GATEWAY_TRUSTED_DOCUMENTS_ONLY needs GATEWAY_TRUSTED_DOCUMENTS"):
        create_app(Settings(_env_file=None, jwt_secret=TEST_SECRET, trusted_documents_only=True))


async def test_the_cli_builds_a_manifest_whose_operations_run_with_their_fragments(gateway_with, tmp_path):
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "list.graphql").write_text(
        "query Listed { instances { nodes { ...Summary } } }\nfragment Summary on Instance { id ...Owner }\n"
    )
    (tmp_path / "queries" / "owner.graphql").write_text(
        "fragment Owner on Instance { instanceOwner { partyId } }\nfragment Unused on Instance { appId }\n"
        "query One($id: ID!) { instance(id: $id) { ...Owner } }\n"
    )
    output = tmp_path / "manifest.json"
    assert main(["trusted-documents", "build", str(tmp_path / "queries"), "--output", str(output)]) == 0
    operations = {o["name"]: o for o in json.loads(output.read_text())["operations"]}
    assert {name: o["type"] for name, o in operations.items()} == {"Listed": "query", "One": "query"}
    assert "fragment Summary" in operations["Listed"]["body"] and "fragment Owner" in operations["Listed"]["body"]
    assert "Summary" not in operations["One"]["body"] and "Unused" not in operations["One"]["body"]
    instance = make_instance()
    async with gateway_with([instance], trusted_documents=output, trusted_documents_only=True) as gw:
        listed = await post(gw, {"documentId": f"sha256:{operations['Listed']['id']}"})
        one = await post(gw, {"documentId": f"sha256:{operations['One']['id']}", "variables": {"id": instance["id"]}})
    owner = {"instanceOwner": {"partyId": instance["instanceOwner"]["partyId"]}}
    assert listed.json() == {"data": {"instances": {"nodes": [{"id": instance["id"], **owner}]}}}
    assert one.json() == {"data": {"instance": owner}}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{ instances { totalCount } }", "an operation without a name"),
        ("query A { instances { nodes { ...Missing } } }", "operation A uses fragment Missing, which no file defines"),
        ("query A { instances { totalCount } }\nquery A { instance(id: 1) { id } }", "operation A is also defined"),
        ("query A {", "a.graphql:1:10: Syntax Error"),
        ("type Query { a: Int }", "only operations and fragments"),
    ],
)
def test_the_cli_refuses_files_that_make_no_manifest(tmp_path, capsys, text, says):
    (tmp_path / "a.graphql").write_text(text)
    assert main(["trusted-documents", "build", str(tmp_path / "a.graphql")]) == 2
    assert says in capsys.readouterr().err


def test_the_cli_reads_a_file_named_twice_once_and_says_when_it_cannot_write_the_manifest(tmp_path, capsys):
    (tmp_path / "a.graphql").write_text("query A { instances { totalCount } }")
    output = tmp_path / "manifest.json"
    # A folder and a file in it, as a shell's `queries queries/*.graphql` gives them.
    both = [str(tmp_path), str(tmp_path / "a.graphql")]
    assert main(["trusted-documents", "build", *both, "--output", str(output)]) == 0
    assert [o["name"] for o in json.loads(output.read_text())["operations"]] == ["A"]
    unwritable = tmp_path / "missing" / "manifest.json"
    assert main(["trusted-documents", "build", str(tmp_path), "--output", str(unwritable)]) == 2
    assert f"{unwritable} cannot be written" in capsys.readouterr().err
