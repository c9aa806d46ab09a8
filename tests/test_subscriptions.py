"""Subscriptions over WebSocket, on both stores: every change delivered once, to exactly the
subscribers whose read authorization and filter let them see it."""

import ast
import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from app.authorization.tokens import mint_token
from app.config import Settings
from app.store.change_feed import StoredChange
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.conftest import DEMO_POLICIES, Store, open_store, org_token, user_token
from tests.factories import make_data_element, make_instance
from tests.live_server import LiveGateway, live_gateway
from tests.websocket_client import LEGACY_WS, TRANSPORT_WS, GraphQLSocket, graphql_socket, subscribed

CHANGES = (
    "subscription($filter: InstanceFilter) { instanceChanged(filter: $filter) { operation instanceId at "
    "instance { id status { isSoftDeleted isHardDeleted readStatus substatus { label } } "
    "completeConfirmations { stakeholderId } } } }"
)
SET_SUBSTATUS = 'mutation($id: ID!) { setSubstatus(instanceId: $id, substatus: {label: "seen"}) { id } }'
DELETE = "mutation($id: ID!, $hard: Boolean!) { deleteInstance(instanceId: $id, hard: $hard) { id } }"
RESTORE = "mutation($id: ID!) { restoreInstance(instanceId: $id) { id } }"
CONFIRM = "mutation($id: ID!) { confirmComplete(instanceId: $id) { id } }"
READ_STATUS = "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { id } }"


@contextlib.contextmanager
def serving(store: Store, instances=(), roles=(), **settings: Any):
    with live_gateway(instances, roles, **store.settings(**settings)) as gateway:
        yield gateway


async def answer(gateway: LiveGateway, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {org_token()}"},
        )
    return response.json()


async def mutate(gateway: LiveGateway, query: str, variables: dict[str, Any]) -> Any:
    body = await answer(gateway, query, variables)
    assert "errors" not in body, body
    return body["data"]


async def write(gateway: LiveGateway, *documents: dict[str, Any]) -> None:
    """Write documents as `import` does, on the server's own store (another writer)."""
    await gateway.on_server(write_all(gateway.database, [normalize_instance(d) for d in documents], []))


@contextlib.asynccontextmanager
async def watching(
    gateway: LiveGateway, token: str, variables: dict[str, Any] | None = None, protocol: str = TRANSPORT_WS
) -> AsyncIterator[GraphQLSocket]:
    before = gateway.app.state.services.live.subscriber_count
    async with subscribed(gateway.ws_url, token, CHANGES, variables, protocol) as socket:
        await gateway.subscribers(before + 1)
        yield socket


async def change(socket: GraphQLSocket) -> dict[str, Any]:
    payload = await socket.result()
    assert "errors" not in payload, payload
    return payload["data"]["instanceChanged"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_each_mutation_reaches_a_subscriber_once_as_it_leaves_the_instance(store, protocol):
    doc = make_instance(party_id="500")
    with serving(store, [doc]) as gateway:
        async with watching(gateway, org_token(), protocol=protocol) as socket:
            steps: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
                (SET_SUBSTATUS, {}, lambda i: i["status"]["substatus"] == {"label": "seen"}),
                (READ_STATUS, {}, lambda i: i["status"]["readStatus"] == "READ"),
                (DELETE, {"hard": False}, lambda i: i["status"]["isSoftDeleted"] is True),
                (RESTORE, {}, lambda i: i["status"]["isSoftDeleted"] is False),
                (CONFIRM, {}, lambda i: i["completeConfirmations"] == [{"stakeholderId": "ttd"}]),
            ]
            for mutation, variables, shows in steps:
                started = datetime.now(UTC) - timedelta(milliseconds=5)
                await mutate(gateway, mutation, {"id": doc["id"], **variables})
                event = await change(socket)
                assert (event["operation"], event["instanceId"]) == ("UPDATED", doc["id"])
                assert shows(event["instance"]), event
                assert started <= datetime.fromisoformat(event["at"]) <= datetime.now(UTC) + timedelta(seconds=1)
            # reads leave hard-deleted instances out unless the filter asks for them
            await mutate(gateway, DELETE, {"id": doc["id"], "hard": True})
            deleted = await change(socket)
            assert (deleted["operation"], deleted["instanceId"], deleted["instance"]) == ("DELETED", doc["id"], None)
            # recording each change's audit event is bookkeeping, never a change of its own
            await socket.nothing_for(0.3)


async def test_a_new_instance_is_created_and_a_rewrite_updates_it(store):
    doc = make_instance(party_id="500")
    with serving(store) as gateway:
        async with watching(gateway, org_token()) as socket:
            await write(gateway, doc)
            created = await change(socket)
            assert (created["operation"], created["instance"]["id"]) == ("CREATED", doc["id"])
            await write(gateway, {**doc, "status": {"readStatus": "Read"}})
            updated = await change(socket)
            assert (updated["operation"], updated["instance"]["status"]["readStatus"]) == ("UPDATED", "READ")


async def test_an_end_user_sees_only_changes_of_instances_they_may_read(store):
    own, other = make_instance(party_id="1337"), make_instance(party_id="500")
    with serving(store, [own, other]) as gateway:
        async with watching(gateway, user_token()) as socket:
            await mutate(gateway, SET_SUBSTATUS, {"id": other["id"]})
            await mutate(gateway, SET_SUBSTATUS, {"id": own["id"]})
            event = await change(socket)
            assert (event["operation"], event["instanceId"]) == ("UPDATED", own["id"])
            # hard-deleted instances are out of an end user's sight: one DELETED, then nothing
            await mutate(gateway, DELETE, {"id": own["id"], "hard": True})
            deleted = await change(socket)
            assert (deleted["operation"], deleted["instanceId"], deleted["instance"]) == ("DELETED", own["id"], None)
            await mutate(gateway, SET_SUBSTATUS, {"id": own["id"]})
            await socket.nothing_for(0.3)


async def test_a_filter_is_matched_after_the_change_and_leaving_it_is_one_deletion(store):
    doc, elsewhere = make_instance(party_id="500"), make_instance(party_id="500", app_id="ttd/skjema-b")
    not_deleted = {"filter": {"appId": {"eq": "ttd/skjema-a"}, "status": {"isSoftDeleted": False}}}
    with serving(store, [doc, elsewhere]) as gateway:
        async with watching(gateway, org_token(), not_deleted) as socket:
            await mutate(gateway, SET_SUBSTATUS, {"id": elsewhere["id"]})
            await mutate(gateway, DELETE, {"id": doc["id"], "hard": False})
            deleted = await change(socket)
            assert (deleted["operation"], deleted["instanceId"], deleted["instance"]) == ("DELETED", doc["id"], None)
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})  # still out of the filter
            await mutate(gateway, RESTORE, {"id": doc["id"]})  # back in it
            restored = await change(socket)
            assert (restored["operation"], restored["instance"]["status"]["isSoftDeleted"]) == ("UPDATED", False)


async def test_a_service_owner_sees_no_change_of_another_orgs_instances(store):
    ours, theirs = make_instance(party_id="500"), make_instance(party_id="500", app_id="skd/skattemelding")
    with serving(store, [ours, theirs]) as gateway:
        async with watching(gateway, org_token()) as socket:
            await write(gateway, {**theirs, "status": {"readStatus": "Read"}})
            await write(gateway, {**ours, "status": {"readStatus": "Read"}})
            assert (await change(socket))["instanceId"] == ours["id"]
            await socket.nothing_for(0.2)


async def test_what_a_subscriber_may_select_is_decided_for_them_on_every_event(store):
    element = make_data_element(dataType="invoice")
    gone = make_data_element(dataType="draft", deleteStatus={"isHardDeleted": True})
    doc = make_instance(party_id="1337", data=[element, gone])
    query = "subscription { instanceChanged { operation instance { id data { id } events { eventType } } } }"
    with serving(store, [doc]) as gateway:
        async with (
            subscribed(gateway.ws_url, org_token(), query) as owner,
            subscribed(gateway.ws_url, user_token(), query) as user,
        ):
            await gateway.subscribers(2)
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            seen_by_owner, seen_by_user = await owner.result(), await user.result()
            # the app owner sees every data element and the audit trail as it is after the change
            assert "errors" not in seen_by_owner
            instance = seen_by_owner["data"]["instanceChanged"]["instance"]
            assert [e["id"] for e in instance["data"]] == [element["id"], gone["id"]]
            assert [e["eventType"] for e in instance["events"]] == ["SubstatusUpdated"]
            # an end user never sees hard-deleted data elements, nor the audit trail
            assert [e["extensions"]["code"] for e in seen_by_user["errors"]] == ["FORBIDDEN"]
            assert seen_by_user["data"]["instanceChanged"]["instance"] == {
                "id": doc["id"],
                "data": [{"id": element["id"]}],
                "events": None,
            }
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            again = (await owner.result())["data"]["instanceChanged"]["instance"]
            assert [e["eventType"] for e in again["events"]] == ["SubstatusUpdated", "SubstatusUpdated"]


async def test_an_instance_not_yet_visible_to_its_owner_sends_them_nothing(store):
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    doc = make_instance(party_id="1337", visibleAfter=later)
    with serving(store, [doc]) as gateway:
        async with watching(gateway, user_token()) as user, watching(gateway, org_token()) as owner:
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            assert (await change(owner))["instanceId"] == doc["id"]
            await user.nothing_for(0.3)


async def test_a_hundred_subscribers_all_receive_one_change(store):
    doc = make_instance(party_id="500")
    with serving(store, [doc]) as gateway:
        async with contextlib.AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(subscribed(gateway.ws_url, org_token(), CHANGES)) for _ in range(100)
            ]
            await gateway.subscribers(100)
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            events = await asyncio.gather(*(change(s) for s in sockets))
            assert {(e["operation"], e["instanceId"]) for e in events} == {("UPDATED", doc["id"])}
            assert all(e == events[0] for e in events)


# --- the connection ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": 7}],
    ids=["none", "malformed", "not-bearer", "not-text"],
)
async def test_a_connection_without_a_valid_token_is_told_so_and_closed_with_4401(protocol, payload):
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url, protocol) as socket:
            await socket.send({"type": "connection_init", "payload": payload})
            if protocol == LEGACY_WS:  # its clients tell their users of this, not of the close
                told = await socket.receive()
                assert told["type"] == "connection_error", told
            code, reason = await socket.closed()
            assert code == 4401 and reason.startswith("Unauthorized"), reason
            if protocol == LEGACY_WS:
                assert told["payload"] == {"message": reason}


async def test_a_token_signed_with_another_key_or_expired_is_refused():
    foreign = mint_token(secret="another-secret-of-at-least-thirty-two-bytes!", org="ttd")
    expired = org_token(now=datetime.now(UTC) - timedelta(hours=2))
    with live_gateway() as gateway:
        for token in (foreign, expired):
            async with graphql_socket(gateway.ws_url) as socket:
                await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
                assert (await socket.closed())[0] == 4401


async def test_the_token_may_come_on_the_upgrade_request():
    with live_gateway() as gateway:
        headers = {"Authorization": f"Bearer {org_token()}"}
        async with graphql_socket(gateway.ws_url, additional_headers=headers) as socket:
            assert await socket.init(None) == {"type": "connection_ack"}


async def test_the_connection_closes_when_its_token_expires():
    token = org_token(ttl_seconds=2)
    with live_gateway() as gateway:
        async with subscribed(gateway.ws_url, token, CHANGES) as socket:
            code, reason = await socket.closed(timeout=10)
            assert (code, reason) == (4401, "Unauthorized: the token has expired")


async def test_a_subscribe_before_connection_init_is_unauthorized():
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            await socket.subscribe(CHANGES)
            assert (await socket.closed())[0] == 4401


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        (["not json"], 4400),
        (['{"type": 1}'], 4400),
        (['{"type": "shout"}'], 4400),
        (['{"type": "connection_init", "payload": {}}'], 4401),
        (["init", "init"], 4429),
        (["init", '{"type": "subscribe", "id": "1"}'], 4400),
        (["init", "subscribe 1", "subscribe 1"], 4409),
    ],
    ids=["not-json", "type-not-text", "unknown-type", "no-token", "second-init", "no-payload", "same-id-twice"],
)
async def test_a_protocol_violation_closes_the_connection_with_its_code(messages, code):
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            for message in messages:
                if message == "init":
                    await socket.send(
                        {"type": "connection_init", "payload": {"Authorization": f"Bearer {org_token()}"}}
                    )
                elif message == "subscribe 1":
                    payload = {"query": CHANGES}
                    await socket.send({"type": "subscribe", "id": "1", "payload": payload})
                else:
                    await socket.connection.send(message)
            while True:
                try:
                    await socket.receive(timeout=5)
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == code, closed.rcvd
                    break


async def test_a_connection_that_never_initialises_is_closed_with_4408():
    with live_gateway(connection_init_timeout_s=0.3) as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            assert (await socket.closed())[0] == 4408


async def test_an_unknown_subprotocol_is_closed_with_4406():
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url, "chat") as socket:
            assert (await socket.closed())[0] == 4406


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_keep_alive_messages_come_at_the_configured_interval(protocol):
    with live_gateway(subscription_keepalive_s=0.2) as gateway:
        async with graphql_socket(gateway.ws_url, protocol) as socket:
            assert (await socket.init(org_token()))["type"] == "connection_ack"
            kinds = [json.loads(await asyncio.wait_for(socket.connection.recv(), 2))["type"] for _ in range(2)]
            assert kinds == ["ping", "ping"] if protocol == TRANSPORT_WS else ["ka", "ka"]


async def test_operations_per_connection_are_limited():
    with live_gateway(subscriptions_per_connection=2) as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            await socket.init(org_token())
            await socket.subscribe(CHANGES)
            await socket.subscribe(CHANGES)
            third = await socket.subscribe(CHANGES)
            refused = await socket.receive()
            assert (refused["type"], refused["id"]) == ("error", third)
            assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            await gateway.subscribers(2)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_queries_and_mutations_run_over_the_socket_too(protocol):
    doc = make_instance(party_id="500")
    with live_gateway([doc]) as gateway:
        async with graphql_socket(gateway.ws_url, protocol) as socket:
            await socket.init(org_token())
            first = await socket.subscribe("{ instances { nodes { id } } }")
            assert await socket.result() == {"data": {"instances": {"nodes": [{"id": doc["id"]}]}}}
            assert await socket.receive() == {"type": "complete", "id": first}
            await socket.subscribe(SET_SUBSTATUS, {"id": doc["id"]})
            assert (await socket.result())["data"] == {"setSubstatus": {"id": doc["id"]}}


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_an_invalid_operation_is_answered_with_its_errors_and_the_connection_stays(protocol):
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url, protocol) as socket:
            await socket.init(org_token())
            operation = await socket.subscribe("subscription { instanceChanged { nope } }")
            answer = await socket.receive()
            errors = answer["payload"] if protocol == TRANSPORT_WS else answer["payload"]["errors"]
            assert answer["id"] == operation
            assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
            if protocol == LEGACY_WS:  # graphql-ws answers with a result, then completes
                assert await socket.receive() == {"type": "complete", "id": operation}
            await socket.subscribe("{ __typename }")
            assert (await socket.result())["data"] == {"__typename": "Query"}


async def test_a_subscription_without_the_read_scope_is_forbidden():
    with live_gateway() as gateway:
        token = org_token(scopes=["altinn:serviceowner/instances.write"])
        async with graphql_socket(gateway.ws_url) as socket:
            await socket.init(token)
            operation = await socket.subscribe(CHANGES)
            refused = await socket.receive()
            assert (refused["type"], refused["id"]) == ("error", operation)
            assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_over_http_a_subscription_is_refused_with_where_to_go(store):
    with serving(store) as gateway:
        async with httpx.AsyncClient(base_url=gateway.http_url) as client:
            answer = await client.post(
                "/graphql", json={"query": CHANGES}, headers={"Authorization": f"Bearer {org_token()}"}
            )
    assert answer.status_code < 500
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WebSocket" in error["message"]


async def test_a_subscriber_too_far_behind_is_closed_with_the_reason():
    doc = make_instance(party_id="500")
    with live_gateway([doc], subscription_queue_size=2) as gateway:
        async with watching(gateway, org_token()) as slow:
            hub = gateway.app.state.services.live

            async def burst() -> None:
                # Three changes handed over at once, before the subscriber can send one.
                stored = await gateway.database.instances.find_one({"id": doc["id"]})
                for _ in range(3):
                    hub.dispatch(StoredChange("update", stored["_id"], stored, stored, datetime.now(UTC)))

            await gateway.on_server(burst())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:  # what was sent before the overflow may still arrive
                    await slow.result()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                1013,
                "too slow: 2 changes were waiting to be sent",
            )
        await gateway.subscribers(0)
        async with watching(gateway, org_token()) as fresh:
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            assert (await change(fresh))["instanceId"] == doc["id"]


# --- MongoDB's change stream ------------------------------------------------------------


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from open_store(request, "wire")


def admin_command(store: Store, command: dict[str, Any]) -> None:
    """A test command on the wire-protocol server; skips where the server has none."""
    with MongoClient(store.url, serverSelectionTimeoutMS=5000) as client:
        try:
            client.admin.command(command)
        except OperationFailure as error:
            pytest.skip(f"the server refuses {next(iter(command))}: {error}")


# Within a longer timeout the driver's own retries would hide the breaks these tests make.
DEFAULT_TIMEOUT = {"mongodb_timeout_ms": Settings(_env_file=None).mongodb_timeout_ms}


@pytest.mark.wire
async def test_the_stream_resumes_where_it_broke_and_loses_no_change(wire, caplog):
    doc = make_instance(party_id="500")
    with serving(wire, [doc], **DEFAULT_TIMEOUT) as gateway:
        async with watching(gateway, org_token()) as socket:
            # the streams' next reads and their reopenings fail, more often than the driver retries
            # (the instances' stream and the role grants' share the breaks)
            breaks = {"failCommands": ["getMore", "aggregate"], "closeConnection": True}
            admin_command(wire, {"configureFailPoint": "failCommand", "mode": {"times": 8}, "data": breaks})
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            await mutate(gateway, READ_STATUS, {"id": doc["id"]})
            first, second = await change(socket), await change(socket)
            assert first["instance"]["status"]["substatus"] == {"label": "seen"}
            assert second["instance"]["status"]["readStatus"] == "READ"
            await socket.nothing_for(0.3)
    assert "reopening it from its last position" in caplog.text


@pytest.mark.wire
async def test_the_stream_follows_the_server_through_a_step_down(wire):
    doc = make_instance(party_id="500")
    with serving(wire, [doc], **DEFAULT_TIMEOUT) as gateway:
        async with watching(gateway, org_token()) as socket:
            admin_command(wire, {"replSetStepDown": 1, "force": True})
            # writes get SERVICE_UNAVAILABLE until the driver finds the primary again
            for _ in range(100):
                if "errors" not in await answer(gateway, SET_SUBSTATUS, {"id": doc["id"]}):
                    break
                await asyncio.sleep(0.2)
            assert (await change(socket))["instance"]["status"]["substatus"] == {"label": "seen"}


@pytest.mark.wire
async def test_on_a_standalone_server_subscriptions_say_a_replica_set_is_needed(tmp_path, caplog):
    secantus = pytest.importorskip("secantus")
    doc = make_instance(party_id="500")
    with secantus.SecantusDBServer(storage_path=str(tmp_path), port=0, replica_set_name=None) as server:
        settings = {"mongodb_url": server.uri, "mongodb_database": "standalone", "policy_dir": DEMO_POLICIES}
        with live_gateway([doc], **settings) as gateway:
            async with graphql_socket(gateway.ws_url) as socket:
                await socket.init(org_token())
                operation = await socket.subscribe(CHANGES)
                refused = await socket.receive()
                assert (refused["type"], refused["id"]) == ("error", operation)
                [error] = refused["payload"]
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                assert "replica set" in error["message"]
                # queries and mutations work as ever
                await socket.subscribe("{ instances { nodes { id } } }")
                assert (await socket.result())["data"] == {"instances": {"nodes": [{"id": doc["id"]}]}}
                await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
    assert "subscriptions are off" in caplog.text


async def test_the_metrics_count_open_subscriptions_and_those_every_change_is_judged_for():
    with live_gateway() as gateway:
        async with (
            watching(gateway, org_token()),
            watching(gateway, user_token()),
            watching(gateway, org_token(sync_adapter=True)),  # reads every org's: cannot be narrowed
        ):
            async with httpx.AsyncClient(base_url=gateway.http_url) as client:
                metrics = (await client.get("/metrics")).text.splitlines()
            assert "gateway_open_subscriptions 3.0" in metrics
            assert "gateway_unbounded_subscriptions 1.0" in metrics


async def test_a_subscription_outlives_the_request_deadlines_of_its_upgrade():
    doc = make_instance(party_id="500")
    with live_gateway([doc], request_head_timeout_s=0.3, request_body_timeout_s=0.3) as gateway:
        async with watching(gateway, org_token()) as socket:
            await socket.nothing_for(0.8)  # past both deadlines
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            assert (await change(socket))["instanceId"] == doc["id"]


async def test_callers_with_the_same_view_get_the_same_answer_and_only_if_they_may_see_it(store):
    doc = make_instance(party_id="1337", data=[make_data_element(deleteStatus={"isHardDeleted": True})])
    query = "subscription { instanceChanged { operation instance { id data { id } events { eventType } } } }"
    dagl = [{"userId": "1", "partyId": "1337", "roles": ["DAGL"]}]
    tokens = {
        "owner": org_token(org_number="991825827"),
        "owner's colleague": org_token(org_number="974760673"),
        "the owner party": user_token(),
        "its manager": user_token(user_id="1", party_id="1"),
        "a stranger": user_token(user_id="2", party_id="2"),
    }
    with serving(store, [doc], dagl) as gateway:
        async with contextlib.AsyncExitStack() as stack:
            sockets = {
                who: await stack.enter_async_context(subscribed(gateway.ws_url, token, query))
                for who, token in tokens.items()
            }
            await gateway.subscribers(len(tokens))
            await mutate(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            seen = {who: await sockets[who].result() for who in tokens if who != "a stranger"}
            await sockets["a stranger"].nothing_for(0.3)
    assert seen["owner"] == seen["owner's colleague"]
    assert seen["the owner party"] == seen["its manager"]
    assert seen["owner"]["data"]["instanceChanged"]["instance"]["events"] == [{"eventType": "SubstatusUpdated"}]
    assert len(seen["owner"]["data"]["instanceChanged"]["instance"]["data"]) == 1
    user_view = seen["its manager"]
    assert user_view["data"]["instanceChanged"]["instance"] == {"id": doc["id"], "data": [], "events": None}
    assert [e["extensions"]["code"] for e in user_view["errors"]] == ["FORBIDDEN"]


def test_the_fields_that_show_callers_differently_are_those_instance_view_decides():
    # One execution of an event serves every subscriber with the same instance_view
    # (app/authorization/access.py). A field that reads its caller anywhere else would show
    # one caller what another may see: it must be decided in instance_view, and added here.
    readers = set()
    for path in sorted((Path(__file__).parent.parent / "app" / "graphql" / "types").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "info.context" in ast.unparse(node):
                readers.add(f"{path.stem}.{node.name}")
    # totalCount is a count of a query's page, never part of a subscription's instance.
    assert readers == {"instance.data", "instance.events", "connection.total_count"}
