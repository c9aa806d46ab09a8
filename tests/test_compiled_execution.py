"""The compiled execution (app/graphql/compiled/) answers every query exactly as the general
executor does: the same JSON, errors included, the same status and media type, the same
record in the request log.

Two gateways share one data set: one answers with compiled plans, the other with
`compiled_execution=False`. Generated queries (tests/generated_queries.py) go to both, as the
app owner ttd, an end user, and the org skd, which a policy lets read one of ttd's apps (so
`events` is FORBIDDEN on some instances and not on others). The data are the demo instances
and messy ones (tests/messy_documents.py), with audit events.
"""

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_client_schema, get_introspection_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.composition import create_app
from app.config import Settings
from app.graphql.compiled.encoded import CHUNK_BYTES
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.conftest import TEST_SECRET, Store, org_token, user_token
from tests.factories import make_data_element, make_instance
from tests.generated_queries import operations, requests
from tests.messy_documents import messy_events, messy_instances
from tests.selections import EVENTS_FIELD, INSTANCE_FIELDS

EXAMPLES_PER_CALLER = 60
CALLERS: dict[str, Callable[[], str]] = {
    "app owner": lambda: org_token("ttd"),
    "end user": lambda: user_token("1", "1", auth_level=2),
    "other org": lambda: org_token("skd", org_number="974761076"),
}
DEMO = files("app") / "demo"
CROSS_ORG_POLICY = Path(__file__).parent / "fixtures" / "cross-org-policies" / "ttd" / "delt"


def data_set() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Instances, role grants and audit events: the demo data, messy instances that the three
    callers see, and messy ones of skd with values that fail a whole page."""
    demo = [normalize_instance(d) for d in json.loads((DEMO / "instances.json").read_text())]
    roles = json.loads((DEMO / "party-roles.json").read_text())
    messy = messy_instances(
        7, 40, party_ids=["500000", "500001", "1337"], app_ids=["ttd/melding", "ttd/skjema-a", "ttd/delt"]
    )
    fatal = messy_instances(8, 6, party_ids=["500002"], app_ids=["skd/mva-melding"], fatal=True)
    instances = demo + messy + fatal
    return instances, roles, messy_events(9, instances)


@contextlib.asynccontextmanager
async def gateway(
    settings: dict[str, Any], instances: list, roles: list, events: list
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway holding these documents as they are (not normalized)."""

    async def seed(database: Any) -> None:
        await write_all(database, instances, roles)
        await database.replace_by(database.instance_events, ("id",), events)

    app = create_app(Settings(_env_file=None, jwt_secret=TEST_SECRET, **settings), seed=seed)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


def compiled_queries(client: httpx.AsyncClient) -> Any:
    """The gateway's CompiledQueries, to see how many requests it answered."""
    return client._transport.app.routes[0].endpoint.schema.compiled  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def twin_gateways(store: Store, policy_dir: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A compiled gateway and a general one on the same data."""
    instances, roles, events = data_set()
    shared = store.settings(policy_dir=policy_dir)  # one database for both, on a server
    async with (
        gateway(shared, instances, roles, events) as compiled,
        gateway({**shared, "compiled_execution": False}, instances, roles, events) as general,
    ):
        yield compiled, general


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """The demo apps' policies, and ttd/delt, which skd may read."""
    with as_file(DEMO / "policies") as demo_policies:
        shutil.copytree(demo_policies, tmp_path / "policies")
    shutil.copytree(CROSS_ORG_POLICY, tmp_path / "policies" / "ttd" / "delt")
    return tmp_path / "policies"


class RequestLog(logging.Handler):
    """The request log lines' fields: operation, name, error codes, outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = ("status", "outcome", "caller", "operation", "operation_name", "error_codes")
        self.lines.append({f: getattr(record, f, None) for f in fields})


@contextlib.contextmanager
def request_log() -> Any:
    handler = RequestLog()
    logger = logging.getLogger("instance_gateway.requests")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def answer(client: httpx.AsyncClient, request: dict[str, Any], token: str, log: RequestLog) -> dict[str, Any]:
    """What a client sees of an answer, and what the request log says of it."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/graphql-response+json"}
    response = await client.post("/graphql", json=request, headers=headers)
    body = response.json()
    for error in body.get("errors") or []:
        request_id = (error.get("extensions") or {}).get("requestId")
        if request_id is not None:
            assert request_id == response.headers["x-request-id"]
            error["extensions"]["requestId"] = "<the request's id>"
    return {
        "status": response.status_code,
        "media type": response.headers["content-type"],
        "body": body,
        "log": log.lines[-1],
    }


# On the wire store, now and then a socket of the driver's pool is collected unclosed after the
# twin gateways have closed their clients, while hypothesis runs: a warning about the test's own
# event-loop runner, not about an answer, which is what this test compares.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("caller", CALLERS)
def test_compiled_and_general_execution_answer_generated_queries_alike(
    store: Store, policy_dir: Path, caller: str
) -> None:
    token = CALLERS[caller]()
    with asyncio.Runner() as runner, request_log() as log:
        gateways = twin_gateways(store, policy_dir)
        compiled, general = runner.run(gateways.__aenter__())
        try:
            introspection = runner.run(
                general.post(
                    "/graphql", json={"query": get_introspection_query()}, headers={"Authorization": f"Bearer {token}"}
                )
            )
            schema = build_client_schema(introspection.json()["data"])
            # Counts have no compiled plan (the general executor answers them): generated queries
            # keep to the fields that have one, or too few would be compiled to tell anything.
            schema.query_type.fields.pop("instanceGroups")

            ids = tuple(d["id"] for d in data_set()[0][::5])
            well_typed = operations(schema, mutations=False, max_depth=5, well_typed=True, ids=ids)
            any_request = requests(schema, mutations=False, max_depth=5)
            # Three in four coerce and run; the rest, valid or broken, mostly stop before running.
            mix = st.integers(0, 3).flatmap(lambda i: any_request if i == 0 else well_typed)

            @settings(
                max_examples=EXAMPLES_PER_CALLER,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(request=mix)
            def answers_alike(request: dict[str, Any]) -> None:
                expected = runner.run(answer(general, request, token, log))
                actual = runner.run(answer(compiled, request, token, log))
                assert actual == expected, request

            answers_alike()
            # Not vacuous: most of the requests were answered by compiled plans.
            assert compiled_queries(compiled).answered >= EXAMPLES_PER_CALLER // 3
        finally:
            runner.run(gateways.__aexit__(None, None, None))


# --- particular cases, each against the general executor --------------------------------------

FULL_INSTANCE = INSTANCE_FIELDS + EVENTS_FIELD


async def both(compiled, general, query: str, variables: dict | None = None, *, caller: str = "app owner") -> dict:
    """The answer, after checking that the compiled gateway's is the general one's."""
    request = {"query": query, "variables": variables or {}}
    with request_log() as log:
        expected = await answer(general, request, CALLERS[caller](), log)
        actual = await answer(compiled, request, CALLERS[caller](), log)
    assert actual == expected
    return actual["body"]


async def test_pages_and_instances_are_answered_by_compiled_plans(store, policy_dir):
    async with twin_gateways(store, policy_dir) as (compiled, general):
        queries = compiled_queries(compiled)
        for caller in CALLERS:
            body = await both(
                compiled,
                general,
                f"{{ instances(first: 200) {{ totalCount nodes {{ {FULL_INSTANCE} }} }} }}",
                caller=caller,
            )
            assert body["data"]["instances"]["nodes"]
            some_id = body["data"]["instances"]["nodes"][0]["id"]
            await both(
                compiled,
                general,
                f"query($id: ID!) {{ instance(id: $id) {{ {FULL_INSTANCE} }} }}",
                {"id": some_id},
                caller=caller,
            )
        answered = queries.answered
        assert answered >= 4  # the skd caller's page holds instances that fail a page: the general executor's
        await both(compiled, general, "{ __schema { queryType { name } } }")
        await both(compiled, general, 'mutation { confirmComplete(instanceId: "1337/none") { id } }')
        assert queries.answered == answered


@pytest.mark.parametrize(
    "selection",
    [
        "nodes { id events { id } }",
        "nodes { events { id } data { id } } edges { node { events { id } } }",
        "edges { node { events { id } } } nodes { events { id } data { id } }",
        "nodes { a: events { id } data { id } b: events { eventType } } edges { cursor }",
        "edges { n1: node { events { id } } n2: node { id data { id } events { created } } } totalCount",
    ],
)
async def test_events_are_forbidden_to_others_than_the_app_owner_in_the_general_executors_order(
    store, policy_dir, selection
):
    async with twin_gateways(store, policy_dir) as (compiled, general):
        queries = compiled_queries(compiled)
        for caller in ("end user", "other org"):
            body = await both(compiled, general, f"{{ instances(first: 30) {{ {selection} }} }}", caller=caller)
            assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
        assert queries.answered >= 1


@contextlib.asynccontextmanager
async def twins_with(
    store: Store, instances: list[dict[str, Any]], events: list[dict[str, Any]] = (), **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    shared = store.settings(**settings)
    async with (
        gateway(shared, instances, [], list(events)) as compiled,
        gateway({**shared, "compiled_execution": False}, instances, [], list(events)) as general,
    ):
        yield compiled, general


def stored(**fields: Any) -> dict[str, Any]:
    """An instance as it is stored, with these fields as they are given (not normalized)."""
    return normalize_instance(make_instance(data=[make_data_element()])) | fields


@pytest.mark.parametrize(
    ("fields", "query"),
    [
        # a date out of range once in UTC, in a field read but not selected
        ({"process": {"started": "0001-01-01T00:00:00+01:00"}}, "nodes { process { endEvent } }"),
        ({"status": {"archived": "9999-12-31T23:59:59-01:00"}}, "nodes { status { isArchived } }"),
        ({"lastChanged": "0001-01-01T00:00:00+01:00"}, "pageInfo { hasNextPage }"),  # the order's field
        # a number for the list of data elements, read even where the instance is skipped
        ({"data": 5}, "edges { cursor node @skip(if: true) { data { id } } }"),
        ({"data": 5}, "nodes { id data { id } }"),
        # a size past 32 bits: an Int cannot hold it
        ({"data": [{"id": "d", "size": 2**40}]}, "nodes { id data { id size } }"),
    ],
)
async def test_values_that_read_as_errors_are_answered_by_the_general_executor(store, fields, query):
    async with twins_with(store, [stored(**fields), stored()]) as (compiled, general):
        body = await both(compiled, general, f"{{ instances {{ {query} }} }}")
        assert compiled_queries(compiled).answered == 0
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_a_page_reads_its_audit_trails_in_one_query(store):
    instances = [stored() for _ in range(5)]
    events = [
        {"id": f"e{i}", "instanceId": d["id"], "created": datetime(2024, 1, 1, tzinfo=UTC), "eventType": "Created"}
        for i, d in enumerate(instances)
    ]
    async with twins_with(store, instances, events) as (compiled, general):
        found = spy_on_finds(compiled)
        query = "{ instances { nodes { id events { eventType } } edges { node { events { id } } } } }"
        body = await both(compiled, general, query)
        assert compiled_queries(compiled).answered == 1
    assert [f for f in found if f == "instanceEvents"] == ["instanceEvents"]
    assert all(n["events"] == [{"eventType": "Created"}] for n in body["data"]["instances"]["nodes"])


async def test_a_page_larger_than_a_chunk_and_a_batch_is_sent_in_chunks_alike(store):
    """A page of more documents than MongoDB sends in one batch (101), and more bytes than the
    gateway sends in one chunk: streamed, with its length, the general executor's answer."""
    instances = [stored(presentationTexts={"title": "x" * 2000}) for _ in range(150)]
    events = [
        {"id": f"e{i}", "instanceId": d["id"], "created": datetime(2024, 1, 1, tzinfo=UTC), "eventType": "Created"}
        for i, d in enumerate(instances[::3])
    ]
    query = f"""{{ instances(first: 140) {{
        totalCount edges {{ cursor node {{ {FULL_INSTANCE} }} }} pageInfo {{ hasNextPage endCursor }}
    }} }}"""
    async with twins_with(store, instances, events) as (compiled, general):
        body = await both(compiled, general, query)
        headers = {"Authorization": f"Bearer {CALLERS['app owner']()}"}
        response = await compiled.post("/graphql", json={"query": query}, headers=headers)
        assert compiled_queries(compiled).answered == 2
    assert int(response.headers["content-length"]) == len(response.content) > CHUNK_BYTES
    assert len(body["data"]["instances"]["edges"]) == 140
    assert sum(bool(e["node"]["events"]) for e in body["data"]["instances"]["edges"]) >= 40


async def test_stored_nul_characters_do_not_move_the_audit_trail(store):
    """The audit trail goes into an encoded instance where a NUL byte holds its place; a NUL
    character in a stored text is written escaped, so it can never be taken for that place."""
    instance = stored(lastChangedBy="a\x00b", presentationTexts={"t": "\x00"})
    event = {"id": "e", "instanceId": instance["id"], "created": datetime(2024, 1, 1, tzinfo=UTC), "eventType": "\x00"}
    query = "{ instances { nodes { lastChangedBy events { eventType } presentationTexts { key value } } } }"
    async with twins_with(store, [instance], [event]) as (compiled, general):
        body = await both(compiled, general, query)
        assert compiled_queries(compiled).answered == 1
    [node] = body["data"]["instances"]["nodes"]
    assert node == {
        "lastChangedBy": "a\x00b",
        "events": [{"eventType": "\x00"}],
        "presentationTexts": [{"key": "t", "value": "\x00"}],
    }


def spy_on_finds(client: httpx.AsyncClient) -> list[str]:
    """The names of the collections the gateway queries with `find` from now on."""
    database = client._transport.app.state.services.database  # type: ignore[attr-defined]
    found: list[str] = []
    for name, collection in (("instances", database.instances), ("instanceEvents", database.instance_events)):
        original = collection.find

        def find(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            found.append(_name)
            return _original(*args, **kwargs)

        collection.find = find
    return found


async def test_a_plan_for_each_value_of_the_variables_of_include_and_skip(store):
    query = "query($a: Boolean!, $b: Boolean!) { instances { nodes { id @include(if: $a) appId @skip(if: $b) } } }"
    async with twins_with(store, [stored()]) as (compiled, general):
        for a in (True, False):
            for b in (True, False):
                await both(compiled, general, query, {"a": a, "b": b})
                await both(compiled, general, query, {"a": a, "b": b})
        queries = compiled_queries(compiled)
        assert (queries.answered, queries.size) == (8, 4)


async def test_plans_are_kept_in_a_bounded_cache(store):
    async with twins_with(store, [stored()], document_cache_size=2) as (compiled, general):
        for i in range(5):
            await both(compiled, general, f"{{ instances {{ nodes {{ a{i}: id }} }} }}")
        queries = compiled_queries(compiled)
        assert (queries.answered, queries.size) == (5, 2)


async def test_without_a_cache_the_general_executor_answers_everything(store):
    async with twins_with(store, [stored()], document_cache_size=0) as (compiled, general):
        await both(compiled, general, "{ instances { nodes { id } } }")
        assert compiled_queries(compiled).answered == 0


async def test_pages_follow_each_other_alike(store, policy_dir):
    query = """query($after: String) {
      instances(first: 7, after: $after, orderBy: [{field: CREATED, direction: ASC}]) {
        pageInfo { hasNextPage endCursor } edges { cursor node { id created status { readStatus } } }
      }
    }"""
    async with twin_gateways(store, policy_dir) as (compiled, general):
        after, pages = None, 0
        while True:
            body = await both(compiled, general, query, {"after": after})
            page_info = body["data"]["instances"]["pageInfo"]
            pages += 1
            if not page_info["hasNextPage"]:
                break
            after = page_info["endCursor"]
        assert pages > 2
        assert compiled_queries(compiled).answered == pages


async def test_backward_pages_follow_each_other_alike(store, policy_dir):
    query = """query($before: String, $after: String) {
      instances(last: 7, before: $before, after: $after, orderBy: [{field: DUE_BEFORE, direction: ASC}]) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id dueBefore } }
      }
    }"""
    async with twin_gateways(store, policy_dir) as (compiled, general):
        before, cursors, pages = None, [], 0
        while True:
            page = (await both(compiled, general, query, {"before": before}))["data"]["instances"]
            cursors += [e["cursor"] for e in page["edges"]]
            pages += 1
            if not page["pageInfo"]["hasPreviousPage"]:
                break
            before = page["pageInfo"]["startCursor"]
        assert len(cursors) > 14
        between = await both(compiled, general, query, {"before": cursors[3], "after": cursors[-3]})
        assert len(between["data"]["instances"]["edges"]) == 7
        assert compiled_queries(compiled).answered == pages + 1


async def test_node_is_answered_by_compiled_plans(store, policy_dir):
    query = f"""query($id: ID!) {{
      node(id: $id) {{ __typename id ... on Instance {{ {FULL_INSTANCE} }} }}
      missing: node(id: "1337/00000000-0000-0000-0000-000000000000") {{ id }}
    }}"""
    async with twin_gateways(store, policy_dir) as (compiled, general):
        for caller in CALLERS:
            some_id = (await both(compiled, general, "{ instances(first: 1) { nodes { id } } }", caller=caller))["data"]
            await both(compiled, general, query, {"id": some_id["instances"]["nodes"][0]["id"]}, caller=caller)
        assert compiled_queries(compiled).answered == 2 * len(CALLERS)
