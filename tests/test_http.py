"""The HTTP edge: every bad request gets a GraphQL error body with a code, never a 500."""

import json
import tracemalloc

import pytest
from pymongo.errors import ServerSelectionTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.http.edge_errors import unrouted
from app.http.media_types import response_media_type
from app.request_record import RequestRecord
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
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]


@pytest.mark.parametrize("url", ["/graphql", "/storage/api/v1/instances?org=ttd"])
async def test_two_authorization_headers_are_a_400_whichever_is_valid(gateway_with, url):
    headers = [("authorization", f"Bearer {org_token()}"), ("authorization", "Bearer not-a-jwt")]
    async with gateway_with() as gw:
        if url == "/graphql":
            response = await gw.http.post("/graphql", json={"query": QUERY}, headers=headers)
            [error] = response.json()["errors"]
            code, message = error["extensions"]["code"], error["message"]
        else:
            response = await gw.http.get(url, headers=headers)
            code, message = response.json()["code"], response.json()["detail"]
    assert response.status_code == 400
    assert code == "BAD_USER_INPUT"
    assert "2 Authorization headers" in message


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
    # GraphQL over HTTP: a mutation over GET is 405 Method Not Allowed.
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
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


DEEP = "[" * 1000 + "]" * 1000  # JSON nested 1,000 levels deep


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('"x"', "not a string"),
        ("12", "not a number"),
        ("null", "not null"),
        ("true", "not a boolean"),
        (b'{"query": "{ instances(first: 1) { \xff } }"}', "not valid JSON"),  # invalid UTF-8
        ('{"query": "{ __typename }", "variables": {"v": ' + DEEP + "}}", "nested too deeply"),
        ('{"query": "{ __typename }", "extensions": {"e": ' + DEEP + "}}", "nested too deeply"),
        # Past Python's limit on converting integers of more than 4,300 digits.
        ('{"query": "{ __typename }", "variables": {"n": ' + "9" * 5000 + "}}", "not valid JSON"),
    ],
)
async def test_hostile_json_is_a_400_with_a_code(gateway_with, body, fragment):
    async with gateway_with() as gw:
        response = await _post(gw, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("parameter", "value", "fragment"),
    [
        ("variables", '{"v": ' + DEEP + "}", "nested too deeply"),
        ("extensions", '{"e": ' + DEEP + "}", "nested too deeply"),
        ("variables", "12", "not a number"),
        ("extensions", "{not json", "not valid JSON"),
    ],
)
async def test_hostile_json_in_a_get_is_a_400_with_a_code(gateway_with, parameter, value, fragment):
    async with gateway_with() as gw:
        response = await gw.http.get("/graphql", params={"query": "{ __typename }", parameter: value}, headers=_auth())
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in error["message"]


@pytest.mark.parametrize("parameter", ["query", "operationName", "variables", "extensions"])
async def test_a_get_parameter_given_twice_is_a_400(gateway_with, parameter):
    values = {"query": QUERY, "operationName": "Q", "variables": "{}", "extensions": "{}"}
    params = [*values.items(), (parameter, values[parameter])]
    async with gateway_with() as gw:
        response = await gw.http.get("/graphql", params=params, headers=_auth())
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"`{parameter}` is given more than once" in error["message"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"query": "{ __typename }", "query": "' + QUERY + '"}', "query"),
        ('{"query": "{ __typename }", "variables": {"f": {"eq": 1, "eq": 2}}}', "eq"),
    ],
)
async def test_a_key_twice_in_one_json_object_is_a_400(gateway_with, body, key):
    async with gateway_with() as gw:
        response = await _post(gw, body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"the key '{key}' more than once" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "NOT_FOUND"),
        ("GET", "/graphql/", 404, "NOT_FOUND"),  # not redirected: a redirect has no JSON to read
        ("POST", "/healthz", 405, "BAD_USER_INPUT"),
        ("GET", "/storage/api/v1/nowhere", 404, "NOT_FOUND"),
    ],
)
async def test_unknown_paths_and_methods_are_answered_in_json(gateway_with, method, path, status, code):
    async with gateway_with() as gw:
        response = await gw.http.request(method, path, headers=_auth())
    assert response.status_code == status
    if path.startswith("/storage/"):
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["status"], body["code"], body["traceId"]) == (status, code, response.headers["x-request-id"])
        assert path in body["detail"]
    else:
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == code
        assert path in error["message"]
    if status == 405:  # Starlette lists a route's methods in no fixed order
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
        assert f"it takes {response.headers['allow']}" in error["message"]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "UNAUTHENTICATED"),
        (403, "FORBIDDEN"),
        (405, "BAD_USER_INPUT"),
        (413, "BAD_USER_INPUT"),
        (500, "INTERNAL_SERVER_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
    ],
)
async def test_an_http_error_reaching_no_endpoint_has_the_code_of_its_status(status, code):
    record = RequestRecord("request-1")
    scope = {"type": "http", "method": "GET", "path": "/graphql", "headers": [], "state": {"request_record": record}}
    response = await unrouted(Request(scope), HTTPException(status, "why"))
    [error] = json.loads(response.body)["errors"]
    assert (response.status_code, error["extensions"]["code"], record.error_codes) == (status, code, [code])


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_methods_other_than_get_and_post_are_405(gateway_with, method):
    async with gateway_with() as gw:
        response = await gw.http.request(method, "/graphql", json={"query": QUERY}, headers=_auth())
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert method in error["message"]


# --- The body limit ----------------------------------------------------------------------

CHUNK = 64 * 1024
LIMIT = 1_048_576  # Settings.max_body_bytes by default


def _json_headers() -> dict[str, str]:
    return {"content-type": "application/json", **_auth()}


async def test_a_body_at_the_limit_is_read_and_one_byte_over_is_413(gateway_with):
    query = '{"query": "{ __typename }"}'
    async with gateway_with(max_body_bytes=len(query)) as gw:
        at_limit = await _post(gw, query)
        over = await _post(gw, query + " ")
    assert at_limit.json() == {"data": {"__typename": "Query"}}
    assert over.status_code == 413
    [error] = over.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"limit of {len(query)} bytes" in error["message"]


async def test_a_declared_content_length_over_the_limit_is_refused_unread(gateway_with):
    chunks_read = 0

    async def body():
        nonlocal chunks_read
        for _ in range(32):
            chunks_read += 1
            yield b" " * CHUNK

    async with gateway_with() as gw:
        headers = {"content-length": str(32 * CHUNK), **_json_headers()}
        response = await gw.http.post("/graphql", content=body(), headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert chunks_read == 0


async def test_a_large_chunked_body_is_refused_while_it_streams_in(gateway_with):
    size = 50 * 1024 * 1024
    sent = 0

    async def body():  # 50 MiB, chunked: no Content-Length to refuse it by
        nonlocal sent
        yield b'{"query": "{ __typename }", "padding": "'
        while sent < size:
            sent += CHUNK
            yield b" " * CHUNK  # a new chunk each time: what the gateway keeps shows in the peak

    async with gateway_with() as gw:
        tracemalloc.start()
        try:
            response = await gw.http.post("/graphql", content=body(), headers=_json_headers())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # The gateway stopped reading at the limit, and never held more than a few times the limit.
    assert sent <= LIMIT + CHUNK
    assert peak < 4 * LIMIT, f"peak {peak / 2**20:.1f} MiB while refusing a 50 MiB body"


# --- Media types: application/json as it always was, application/graphql-response+json --------

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("query", "variables", "status"),
    [
        ("{ __typename }", None, 200),
        ('{ instances(after: "garbage") { totalCount } }', None, 200),  # an error during execution
        ("{ instances { ", None, 400),  # does not parse
        ("{ instances { nope } }", None, 400),  # does not validate
        ("query($n: Int!) { instances(first: $n) { totalCount } }", {"n": "x"}, 400),  # variables do not coerce
    ],
)
async def test_graphql_response_json_answers_requests_never_executed_with_400_and_no_data(
    gateway_with, query, variables, status
):
    async with gateway_with() as gw:
        response = await gw.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9", **_auth()},
        )
    assert response.status_code == status
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert ("data" in body) == (status == 200)
    assert all(error["extensions"]["code"] for error in body.get("errors", []))


@pytest.mark.parametrize("accept", ["application/json", "*/*", f"application/json, {GRAPHQL_RESPONSE}"])
async def test_application_json_answers_a_query_that_does_not_validate_with_200(gateway_with, accept):
    async with gateway_with() as gw:
        response = await gw.http.post(
            "/graphql", json={"query": "{ instances { nope } }"}, headers={"accept": accept, **_auth()}
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_graphql_response_json_errors_at_the_edge_have_no_data(gateway_with):
    async with gateway_with() as gw:
        anonymous = await gw.http.post("/graphql", json={"query": QUERY}, headers={"accept": GRAPHQL_RESPONSE})
        not_json = await _post(gw, "{not json", headers={"accept": GRAPHQL_RESPONSE})
    assert anonymous.status_code == 401
    assert not_json.status_code == 400
    for response in (anonymous, not_json):
        assert response.headers["content-type"] == GRAPHQL_RESPONSE
        assert "data" not in response.json()


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/plain", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", "application/json"),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, */*", "application/json"),
        (f"{GRAPHQL_RESPONSE};q=bad, application/json;q=0.1", "application/json"),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE),
    ],
)
def test_the_response_media_type_follows_accept(accept, media_type):
    assert response_media_type(accept) == media_type


# --- CORS --------------------------------------------------------------------------------

ORIGIN = "https://portal.example"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}


async def test_cors_answers_configured_origins_only(gateway_with):
    async with gateway_with(cors_origins=[ORIGIN]) as gw:
        preflight = await gw.http.options("/graphql", headers={"origin": ORIGIN, **PREFLIGHT})
        query = await gw.http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": ORIGIN, **_auth()})
        anonymous = await gw.http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": ORIGIN})
        elsewhere = await gw.http.options("/graphql", headers={"origin": "https://evil.example", **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert {"GET", "POST"} <= {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }
    assert query.json() == {"data": {"__typename": "Query"}}
    # A page on the origin can read every answer, a 401 too.
    for response in (query, anonymous):
        assert response.headers["access-control-allow-origin"] == ORIGIN
    assert anonymous.status_code == 401
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_no_cors_without_configured_origins(gateway_with):
    async with gateway_with() as gw:
        preflight = await gw.http.options("/graphql", headers={"origin": ORIGIN, **PREFLIGHT})
        query = await gw.http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": ORIGIN, **_auth()})
    assert preflight.status_code == 405
    assert preflight.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    for response in (preflight, query):
        assert not [name for name in response.headers if name.startswith("access-control-")]


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
