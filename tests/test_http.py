"""The HTTP edge: every bad request gets a GraphQL error body with a code, never a 500."""

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from tests.conftest import org_token
from tests.factories import make_instance

QUERY = "{ instances(first: 1) { totalCount } }"


def _nested_not(levels: int) -> dict:
    nested: dict = {"appId": {"eq": "ttd/skjema-a"}}
    for _ in range(levels):
        nested = {"not": nested}
    return nested


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {org_token()}"}


async def _post(gw, body: str | bytes, content_type: str = "application/json", headers=None):
    return await gw.http.post(
        "/graphql", content=body, headers={"content-type": content_type, **_auth(), **(headers or {})}
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "no token"),
        ("Basic dXNlcjpwYXNz", "Bearer"),
        ("Bearer not-a-jwt", "token is malformed"),
    ],
)
async def test_missing_or_invalid_token_is_401(gateway_with, header, message):
    async with gateway_with() as gw:
        headers = {"Authorization": header} if header else {}
        response = await gw.http.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]


async def test_graphiql_page_is_open_without_a_token(gateway_with):
    async with gateway_with() as gw:
        response = await gw.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_queries_over_get(gateway_with):
    async with gateway_with([make_instance()]) as gw:
        response = await gw.http.get("/graphql", params={"query": QUERY}, headers=_auth())
    assert response.json() == {"data": {"instances": {"totalCount": 1}}}


async def test_mutations_over_get_are_refused(gateway_with):
    async with gateway_with([make_instance()]) as gw:
        response = await gw.http.get(
            "/graphql", params={"query": 'mutation { confirmComplete(instanceId: "1/x") { id } }'}, headers=_auth()
        )
    assert response.status_code >= 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[]", "application/json"),
        ("query=x", "text/plain"),
        ("", "application/json"),
    ],
)
async def test_a_body_that_is_not_a_graphql_request_is_400(gateway_with, body, content_type):
    async with gateway_with() as gw:
        response = await _post(gw, body, content_type)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"]


@pytest.mark.parametrize(
    ("query", "variables", "fragment"),
    [
        ("{ instances { nope } }", None, "Cannot query field 'nope'"),
        ("{ instances(first: 1001) { totalCount } }", None, "`first` must be between 0 and 1000"),
        ("{ instances(first: -1) { totalCount } }", None, "`first` must be between 0 and 1000"),
        ('{ instances(filter: {created: {gt: "yesterday"}}) { totalCount } }', None, "DateTime"),
        (
            "query($f: InstanceFilter) { instances(filter: $f) { totalCount } }",
            {"f": {"created": {"gt": "2020-13-45"}}},
            "DateTime",
        ),
        ("query($f: InstanceFilter) { instances(filter: $f) { totalCount } }", {"f": {"nope": 1}}, "nope"),
        (
            "query($f: InstanceFilter) { instances(filter: $f) { totalCount } }",
            {"f": {"appId": "ttd/a"}},
            "StringFilter",
        ),
        ('{ instances(after: "garbage") { totalCount } }', None, "cursor"),
        ("{ instances { ", None, "Syntax Error"),
        ('mutation { setReadStatus(instanceId: "1/x", status: SEEN) { id } }', None, "SEEN"),
        ("query($f: InstanceFilter) { instances(filter: $f) { totalCount } }", {"f": _nested_not(11)}, "10 levels"),
        ("query($f: InstanceFilter) { instances(filter: $f) { totalCount } }", {"f": _nested_not(400)}, "too deeply"),
    ],
)
async def test_bad_input_is_a_clear_error_with_a_code(gateway_with, query, variables, fragment):
    async with gateway_with([make_instance()]) as gw:
        body = await gw.query(query, variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in error["message"]


async def test_depth_and_alias_limits(gateway_with):
    deep = "{ instances { nodes { process { currentTask { validated { timestamp } } } } } }"
    aliases = "{ " + " ".join(f"a{i}: instances {{ totalCount }}" for i in range(30)) + " }"
    async with gateway_with() as gw:
        assert "errors" not in await gw.query(deep)
        too_many = await gw.query(aliases)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("failure", "code", "shown", "logged"),
    [
        (ServerSelectionTimeoutError("No servers found yet"), "SERVICE_UNAVAILABLE", "unreachable", ""),
        (RuntimeError("secret internals /etc/passwd"), "INTERNAL_SERVER_ERROR", "logged", "secret internals"),
    ],
)
async def test_store_failures_answer_with_a_code_and_hide_internals(gateway_with, caplog, failure, code, shown, logged):
    async with gateway_with([make_instance()]) as gw:
        services = gw.http._transport.app.state.services

        def failing(*args, **kwargs):
            raise failure

        services.database.instances.count_documents = failing
        body = await gw.query(QUERY)
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert shown in error["message"]
    assert "secret" not in error["message"]
    assert logged in caplog.text
