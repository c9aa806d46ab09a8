"""Resuming a subscription with `after`, on both stores: every change since the cursor, then
the live ones, none missed and none twice; cursors bound to their caller and filter; clear
codes for a cursor too old and a replay too long."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.store import change_feed
from app.store.change_feed import LocalChangeFeed, StoredChange
from app.store.cursors import CursorCodec
from app.subscriptions.hub import ChangeHub
from app.subscriptions.resumption import Resumption
from tests.conftest import DEMO_POLICIES, Store, org_token, user_token
from tests.factories import make_instance
from tests.live_server import LiveGateway, live_gateway
from tests.test_subscriptions import admin_command, mutate, serving
from tests.websocket_client import GraphQLSocket, subscribed

RESUMABLE = (
    "subscription($filter: InstanceFilter, $after: String) { instanceChanged(filter: $filter, after: $after) "
    "{ operation instanceId at cursor instance { status { substatus { label } } } } }"
)
LABEL = "mutation($id: ID!, $label: String!) { setSubstatus(instanceId: $id, substatus: {label: $label}) { id } }"
SOFT_DELETE = "mutation($id: ID!) { deleteInstance(instanceId: $id, hard: false) { id } }"


@contextlib.asynccontextmanager
async def resumed(gateway: LiveGateway, token: str, **variables: Any) -> AsyncIterator[GraphQLSocket]:
    async with subscribed(gateway.ws_url, token, RESUMABLE, variables) as socket:
        yield socket


async def changes(socket: GraphQLSocket, count: int) -> list[dict[str, Any]]:
    received = []
    for _ in range(count):
        payload = await socket.result()
        assert "errors" not in payload, payload
        received.append(payload["data"]["instanceChanged"])
    return received


async def refusal(socket: GraphQLSocket) -> dict[str, Any]:
    """The error that ends the subscription: refused at once, or after what was replayed."""
    while (message := await socket.receive())["type"] == "next" and "errors" not in message["payload"]:
        pass
    [error] = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    return error


async def labelled(gateway: LiveGateway, instance_id: str, *labels: str) -> None:
    for label in labels:
        await mutate(gateway, LABEL, {"id": instance_id, "label": label})


async def test_a_subscriber_that_reconnects_with_a_cursor_misses_no_change_and_gets_none_twice(store):
    doc = make_instance(party_id="500")
    total, taken = 30, 5
    with serving(store, [doc]) as gateway:
        # The same caller and filter, never disconnected: the sequence of changes as sent live.
        async with resumed(gateway, org_token()) as reference:
            async with resumed(gateway, org_token()) as first:
                await gateway.subscribers(2)
                writer = asyncio.create_task(labelled(gateway, doc["id"], *(f"n{n}" for n in range(total))))
                before = await changes(first, taken)
            # the writer goes on while the subscriber is away and while it comes back
            async with resumed(gateway, org_token(), after=before[-1]["cursor"]) as again:
                after = await changes(again, total - taken)
                await writer
                sent = await changes(reference, total)
                assert [c["cursor"] for c in before + after] == [c["cursor"] for c in sent]
                assert [(c["operation"], c["at"]) for c in before + after] == [(c["operation"], c["at"]) for c in sent]
                await again.nothing_for(0.3)


async def test_the_replay_judges_each_change_for_the_subscriber_as_live_delivery_does(store):
    own, other = make_instance(party_id="1337"), make_instance(party_id="1337")
    strangers = make_instance(party_id="500")
    undeleted = {"status": {"isSoftDeleted": False}}
    with serving(store, [own, other, strangers]) as gateway:
        async with resumed(gateway, user_token(), filter=undeleted) as socket:
            await gateway.subscribers(1)
            await labelled(gateway, own["id"], "first")
            [first] = await changes(socket, 1)
        # away: its instance leaves the filter, another of its own changes, a stranger's changes
        await mutate(gateway, SOFT_DELETE, {"id": own["id"]})
        await labelled(gateway, strangers["id"], "not yours")
        await labelled(gateway, other["id"], "second")
        async with resumed(gateway, user_token(), filter=undeleted, after=first["cursor"]) as socket:
            left, changed = await changes(socket, 2)
            assert (left["operation"], left["instanceId"], left["instance"]) == ("DELETED", own["id"], None)
            assert (changed["operation"], changed["instanceId"]) == ("UPDATED", other["id"])
            assert changed["instance"]["status"]["substatus"] == {"label": "second"}
            await socket.nothing_for(0.3)


async def test_a_cursor_serves_only_its_caller_and_filter_and_cannot_be_made_up(store):
    doc = make_instance(party_id="1337")
    mine = {"appId": {"eq": doc["appId"]}}
    with serving(store, [doc]) as gateway:
        async with resumed(gateway, org_token(), filter=mine) as socket:
            await gateway.subscribers(1)
            await labelled(gateway, doc["id"], "seen")
            [change] = await changes(socket, 1)
        cursor = change["cursor"]
        tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
        refused = {
            "another caller": (user_token(), mine, cursor),
            "another service owner of the org": (org_token(org_number="974760673"), mine, cursor),
            "another filter": (org_token(), None, cursor),
            "a tampered cursor": (org_token(), mine, tampered),
            "no cursor at all": (org_token(), mine, "not a cursor"),
        }
        for case, (token, instance_filter, after) in refused.items():
            async with resumed(gateway, token, filter=instance_filter, after=after) as socket:
                error = await refusal(socket)
                assert error["extensions"]["code"] == "BAD_USER_INPUT", case
                assert "cursor" in error["message"], case
        # the cursor itself still serves its caller and filter
        async with resumed(gateway, org_token(), filter=mine, after=cursor) as socket:
            await gateway.subscribers(1)
            await labelled(gateway, doc["id"], "again")
            [again] = await changes(socket, 1)
            assert again["instance"]["status"]["substatus"] == {"label": "again"}


async def test_a_replay_longer_than_the_limit_is_cut_off_with_its_code(store):
    doc = make_instance(party_id="500")
    with serving(store, [doc], subscription_replay_limit=3) as gateway:
        async with resumed(gateway, org_token()) as socket:
            await gateway.subscribers(1)
            await labelled(gateway, doc["id"], "start")
            [start] = await changes(socket, 1)
        await labelled(gateway, doc["id"], *(f"n{n}" for n in range(5)))
        async with resumed(gateway, org_token(), after=start["cursor"]) as socket:
            error = await refusal(socket)
    assert error["extensions"]["code"] == "REPLAY_LIMIT_EXCEEDED"
    assert "query the instances again" in error["message"]


async def test_on_the_embedded_store_a_cursor_older_than_its_kept_changes_has_expired(monkeypatch):
    monkeypatch.setattr(change_feed, "KEPT_CHANGES", 3)
    doc = make_instance(party_id="500")
    with live_gateway([doc]) as gateway:
        async with resumed(gateway, org_token()) as socket:
            await gateway.subscribers(1)
            await labelled(gateway, doc["id"], "start")
            [start] = await changes(socket, 1)
        await labelled(gateway, doc["id"], "n1", "n2", "n3", "n4")  # the feed keeps the last three
        async with resumed(gateway, org_token(), after=start["cursor"]) as socket:
            error = await refusal(socket)
    assert error["extensions"]["code"] == "CURSOR_EXPIRED"


@pytest.mark.wire
async def test_on_mongodb_a_cursor_the_oplog_has_moved_past_has_expired(tmp_path):
    secantus = pytest.importorskip("secantus")
    doc = make_instance(party_id="500")
    # An oplog of a few entries: each change is several (the change, its audit event, its outbox).
    with secantus.SecantusDBServer(storage_path=str(tmp_path), port=0, oplog_max_entries=20) as server:
        settings = {"mongodb_url": server.uri, "mongodb_database": "expiring", "policy_dir": DEMO_POLICIES}
        with live_gateway([doc], **settings) as gateway:
            async with resumed(gateway, org_token()) as socket:
                await gateway.subscribers(1)
                await labelled(gateway, doc["id"], "start")
                [start] = await changes(socket, 1)
                for n in range(10):  # each seen live, so the gateway's own stream keeps up
                    await labelled(gateway, doc["id"], f"n{n}")
                    await changes(socket, 1)
            # SecantusDB trims its oplog every thousand entries, or when told to
            admin_command(Store("wire", server.uri), {"secantusAdmin.pruneOplog": 1})
            async with resumed(gateway, org_token(), after=start["cursor"]) as socket:
                error = await refusal(socket)
    assert error["extensions"]["code"] == "CURSOR_EXPIRED"
    assert "query the instances again" in error["message"]


async def test_a_replay_waits_in_its_own_subscriber_and_the_seam_drops_what_both_gave():
    # The replay (a store the resumed subscriber reads again) is held; live delivery to another
    # subscriber goes on meanwhile, and a change both the replay and the hub give comes once.
    released = asyncio.Event()
    doc = {"_id": 1, "id": "1/x", "appId": "ttd/a"}
    feed = LocalChangeFeed()
    for n in range(3):
        feed.publish(StoredChange("update", 1, doc, {**doc, "n": n}, datetime.now(UTC)))
    held_back = feed.replay

    async def slow_replay(after: Any) -> AsyncIterator[StoredChange]:
        await released.wait()
        async for change in held_back(after):
            yield change

    hub = ChangeHub(10, open_timeout_s=1, resumption=Resumption(CursorCodec(b"k"), slow_replay, limit=10))
    replayed = [change async for change in feed.replay(f"{feed._name}:0")]

    async def quiet(on_open):
        on_open()
        await asyncio.Event().wait()
        yield

    following = asyncio.create_task(hub.run(quiet))
    sees_all = Sees()
    async with (
        hub.subscribe("resumed", lambda: sees_all, print, after=replayed[0].position) as resuming,
        hub.subscribe("live", lambda: sees_all, print) as live,
    ):
        reading = asyncio.create_task(anext(resuming))
        await asyncio.sleep(0)
        hub.dispatch(replayed[2])  # the hub hands over the last change the replay also gives
        assert (await anext(live)).position == replayed[2].position
        assert not reading.done()
        released.set()
        got = [await reading, await anext(resuming)]
        assert [e.position for e in got] == [c.position for c in replayed[1:]]
        later = StoredChange("update", 1, doc, {**doc, "n": 9}, datetime.now(UTC), position="later")
        hub.dispatch(later)
        assert (await anext(resuming)).position == "later"
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following


class Sees:
    reach = None
    role_holder = None

    def sees(self, document: dict[str, Any] | None, at: datetime) -> bool:
        return document is not None
