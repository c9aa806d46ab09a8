"""What a request gets when its document cannot run as it is: an empty selection set (a syntax
error), several operations without an `operationName`, or a failure of the gateway's own while
it parses or validates the document. Over HTTP and over WebSocket alike."""

import logging

import pytest
from graphql.language.parser import Parser
from graphql.validation import ScalarLeafsRule

from app.graphql.errors import INTERNAL_MESSAGE
from tests.conftest import org_token
from tests.factories import make_instance
from tests.generated_queries import fragment_chain
from tests.live_server import live_gateway
from tests.websocket_client import LEGACY_WS, TRANSPORT_WS, graphql_socket

EMPTY_SELECTIONS = [
    "{ }",
    "{ instances { } }",
    "{ instances { nodes { ... on Instance { } } } }",
    "{ ...F } fragment F on Query { }",
]
SYNTAX_ERROR = "Syntax Error: Expected Name, found '}'."


def _headers(media_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {org_token()}", "Accept": media_type}


@pytest.mark.parametrize("query", EMPTY_SELECTIONS)
async def test_an_empty_selection_set_is_a_syntax_error(gateway_with, query):
    async with gateway_with() as gw:
        response = await gw.http.post("/graphql", json={"query": query}, headers=_headers())
    [error] = response.json()["errors"]
    assert (error["message"], error["extensions"]["code"]) == (SYNTAX_ERROR, "BAD_USER_INPUT")


# --- several operations ------------------------------------------------------------------------

TWO_OPERATIONS = (
    'mutation Remove { deleteInstance(instanceId: "ID", hard: true) { id } } query Count { instances { totalCount } }'
)
NAME_REQUIRED = "Must provide operation name if query contains multiple operations."


@pytest.mark.parametrize("media_type", ["application/json", "application/graphql-response+json"])
async def test_several_operations_without_a_name_are_refused_and_none_runs(gateway_with, media_type):
    doc = make_instance()
    query = TWO_OPERATIONS.replace("ID", doc["id"])
    async with gateway_with([doc]) as gw:
        refused = await gw.http.post("/graphql", json={"query": query}, headers=_headers(media_type))
        counted = await gw.http.post(
            "/graphql", json={"query": query, "operationName": "Count"}, headers=_headers(media_type)
        )
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert (error["message"], error["extensions"]["code"]) == (NAME_REQUIRED, "BAD_USER_INPUT")
    assert counted.json()["data"] == {"instances": {"totalCount": 1}}  # the mutation did not run


async def test_several_operations_without_a_name_are_refused_over_get_too(gateway_with):
    query = "query A { __typename } query B { __typename }"
    async with gateway_with() as gw:
        response = await gw.http.get("/graphql", params={"query": query}, headers=_headers())
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == NAME_REQUIRED


# --- failures of the gateway's own ---------------------------------------------------------------


def _fail(*_args, **_kwargs):
    raise ValueError("secret internals")


@pytest.mark.parametrize(
    ("owner", "method"), [(Parser, "parse_document"), (ScalarLeafsRule, "enter_field")], ids=["parse", "validate"]
)
@pytest.mark.parametrize(
    ("media_type", "status"), [("application/json", 200), ("application/graphql-response+json", 500)]
)
async def test_a_failure_while_parsing_or_validating_is_masked_coded_and_logged(
    gateway_with, monkeypatch, caplog, owner, method, media_type, status
):
    caplog.set_level(logging.INFO)
    async with gateway_with() as gw:
        monkeypatch.setattr(owner, method, _fail)
        response = await gw.http.post("/graphql", json={"query": "{ __typename }"}, headers=_headers(media_type))
    assert response.status_code == status
    [error] = response.json()["errors"]
    assert error == {
        "message": INTERNAL_MESSAGE,
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["x-request-id"]},
    }
    assert "secret internals" in caplog.text
    [logged] = [r for r in caplog.records if r.name == "instance_gateway.requests"]
    assert (logged.outcome, logged.error_codes) == ("error", ["INTERNAL_SERVER_ERROR"])


# --- the same over WebSocket -------------------------------------------------------------------


def _errors(answer: dict, protocol: str) -> list[dict]:
    return answer["payload"] if protocol == TRANSPORT_WS else answer["payload"]["errors"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_over_websocket_the_same_documents_are_bad_input(protocol):
    doc = make_instance()
    chain = f"{{ ...F40 }} {fragment_chain(40, 'Query', '__typename')}"
    expanded = f"the document selects {2**40} fields once its fragments are expanded; at most 5000 are accepted"
    with live_gateway([doc]) as gateway:
        async with graphql_socket(gateway.ws_url, protocol) as socket:
            await socket.init(org_token())
            for query, message in [
                ("{ }", SYNTAX_ERROR),
                (TWO_OPERATIONS.replace("ID", doc["id"]), NAME_REQUIRED),
                (chain, expanded),
            ]:
                await socket.subscribe(query)
                answer = await socket.receive()
                [error] = _errors(answer, protocol)
                assert (error["message"], error["extensions"]["code"]) == (message, "BAD_USER_INPUT")
                if protocol == LEGACY_WS:
                    assert (await socket.receive())["type"] == "complete"
            await socket.subscribe("{ instances { totalCount } }")
            assert (await socket.result())["data"] == {"instances": {"totalCount": 1}}
