"""A change and its audit event land together. Once the change's update has landed the change
has happened: an event whose recording fails waits in the instance's outbox, the caller is
told of the change, and the event is recorded by the next change of the instance or by the
gateway's recorder, which retries while it runs; /readyz says so while it cannot."""

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.errors import AutoReconnect

from app.store import changes as changes_module
from app.store.changes import PENDING_EVENTS, Actor, InstanceChanges
from app.store.database import connect, ensure_indexes
from app.store.documents import normalize_instance
from app.store.writes import write_all
from app.timestamps import utc_now
from tests.conftest import Store, open_store, org_token
from tests.factories import make_instance
from tests.sent_commands import recording
from tests.test_subscriptions import CONFIRM, SET_SUBSTATUS, answer, change, serving, watching

ACTOR = Actor(changed_by="991825827", user_id=None, org="ttd", authentication_level=3)
TRAIL = "query($id: ID!) { instance(id: $id) { status { substatus { label } } events { eventType created } } }"


@contextlib.contextmanager
def recording_fails(database) -> Iterator[None]:
    record = database.instance_events.replace_one

    def connection_lost(*args, **kwargs):
        raise AutoReconnect("connection closed")

    database.instance_events.replace_one = connection_lost
    try:
        yield
    finally:
        database.instance_events.replace_one = record


async def stored(database, instance_id: str) -> dict[str, Any]:
    return await database.instances.find_one({"id": instance_id}, {"_id": 0})


async def test_a_change_whose_event_cannot_be_recorded_has_happened_and_the_next_change_records_it(database):
    document = normalize_instance(make_instance())
    await write_all(database, [document], [])
    changes = InstanceChanges(database)
    with recording_fails(database):
        deleted = await changes.soft_delete(document, ACTOR)
    assert deleted.changed and deleted.document["status"]["isSoftDeleted"] is True
    assert PENDING_EVENTS not in deleted.document
    [pending] = (await stored(database, document["id"]))[PENDING_EVENTS]
    assert pending["eventType"] == "Deleted"
    assert await database.instance_events.count_documents({}) == 0
    assert changes.unrecorded_instances == 1

    restored = await changes.restore(deleted.document, ACTOR)
    assert restored.changed
    trail = (await changes.events_of([document["id"]]))[document["id"]]
    assert [e["eventType"] for e in trail] == ["Deleted", "Undeleted"]
    assert trail[0]["id"] == pending["id"]
    assert trail[0]["processInfo"]["currentTask"]["elementId"] == "Task_1"
    assert PENDING_EVENTS not in await stored(database, document["id"])


async def test_the_recorder_retries_until_the_database_takes_the_event(database, monkeypatch):
    monkeypatch.setattr(changes_module, "RECORDING_RETRY_S", (0.01,))
    document = normalize_instance(make_instance())
    await write_all(database, [document], [])
    changes = InstanceChanges(database)
    recorder = asyncio.create_task(changes.keep_recording())
    try:
        with recording_fails(database):
            await changes.set_substatus(document, {"label": "Accepted"}, ACTOR)
            await asyncio.sleep(0.1)  # the retries fail too
            assert changes.recording_failure is not None
            assert await database.instance_events.count_documents({}) == 0
        deadline = time.monotonic() + 5
        while changes.unrecorded_instances:
            assert time.monotonic() < deadline, "the recorder did not record the event"
            await asyncio.sleep(0.01)
    finally:
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
    assert changes.recording_failure is None
    [event] = (await changes.events_of([document["id"]]))[document["id"]]
    assert event["eventType"] == "SubstatusUpdated"
    assert PENDING_EVENTS not in await stored(database, document["id"])


async def test_the_sweep_records_what_another_gateway_left_only_once_it_is_stale(database):
    document = normalize_instance(make_instance())
    await write_all(database, [document], [])
    with recording_fails(database):
        await InstanceChanges(database).set_substatus(document, {"label": "Accepted"}, ACTOR)
    [pending] = (await stored(database, document["id"]))[PENDING_EVENTS]
    other = InstanceChanges(database)
    assert await other.flush_pending_events(older_than=pending["created"]) == 0
    assert await other.flush_pending_events(older_than=pending["created"] + timedelta(milliseconds=1)) == 1
    assert PENDING_EVENTS not in await stored(database, document["id"])


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from open_store(request, "wire")


@contextlib.contextmanager
def fail_point(store: Store, mode: Any, data: dict[str, Any]) -> Iterator[None]:
    """MongoDB's failCommand fail point, switched off on leaving; skips where the server has none."""
    with MongoClient(store.url, serverSelectionTimeoutMS=5000) as client:
        try:
            client.admin.command({"configureFailPoint": "failCommand", "mode": mode, "data": data})
        except Exception as error:
            pytest.skip(f"the server has no failCommand fail point: {error}")
        try:
            yield
        finally:
            client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


async def until(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.wire
async def test_a_database_refusing_the_outbox_step_tells_the_caller_the_truth_and_heals(wire, monkeypatch):
    monkeypatch.setattr(changes_module, "RECORDING_RETRY_S", (0.05, 0.2))
    doc = make_instance(party_id="500")
    refused = {"failCommands": ["update"], "errorCode": 2, "errorMessage": "refused by a fail point"}
    with serving(wire, [doc]) as gateway:
        async with (
            httpx.AsyncClient(base_url=gateway.http_url) as client,
            watching(gateway, org_token()) as socket,
        ):
            with fail_point(wire, "alwaysOn", refused):
                body = await answer(gateway, SET_SUBSTATUS, {"id": doc["id"]})
                assert body == {"data": {"setSubstatus": {"id": doc["id"]}}}

                async def not_ready() -> bool:
                    return (await client.get("/readyz")).status_code == 503

                await until(not_ready)
                assert "audit events" in (await client.get("/readyz")).text
                await socket.nothing_for(0.2)  # a change reaches subscribers with its event recorded
            # the fail point is off: the recorder catches up by itself, no other change needed
            event = await change(socket)
            assert event["instance"]["status"]["substatus"] == {"label": "seen"}

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await until(ready)
            trail = (await answer(gateway, TRAIL, {"id": doc["id"]}))["data"]["instance"]["events"]
            assert [e["eventType"] for e in trail] == ["SubstatusUpdated"]


async def test_the_first_change_of_an_old_document_reaches_subscribers_once_with_its_new_state(store):
    # Altinn's own documents may hold `status: null`: replacing it is part of the change itself.
    doc = make_instance(party_id="500", status=None, completeConfirmations=None)
    with serving(store, [doc]) as gateway:
        async with watching(gateway, org_token()) as socket:
            await answer(gateway, SET_SUBSTATUS, {"id": doc["id"]})
            event = await change(socket)
            assert event["instance"]["status"]["substatus"] == {"label": "seen"}
            await answer(gateway, CONFIRM, {"id": doc["id"]})
            event = await change(socket)
            assert event["instance"]["completeConfirmations"] == [{"stakeholderId": "ttd"}]
            await socket.nothing_for(0.3)


LABELLED = (
    "mutation($id: ID!, $label: String!) { setSubstatus(instanceId: $id, substatus: {label: $label}) "
    "{ status { substatus { label } } } }"
)


@pytest.mark.wire
@pytest.mark.parametrize("step", ["findAndModify", "update"], ids=["the change", "the outbox step"])
async def test_a_connection_lost_mid_change_leaves_it_told_and_recorded_or_not_made(wire, step):
    doc = make_instance(party_id="500")
    with serving(wire, [doc]) as gateway:
        told: list[str] = []
        for times in (1, 2, 3, 6):
            label = f"after {times} lost connections"
            with fail_point(wire, {"times": times}, {"failCommands": [step], "closeConnection": True}):
                body = await answer(gateway, LABELLED, {"id": doc["id"], "label": label})
            if "errors" in body:
                assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", body
            else:
                assert body["data"]["setSubstatus"]["status"]["substatus"] == {"label": label}
                told.append(label)

            async def as_told() -> bool:
                instance = (await answer(gateway, TRAIL, {"id": doc["id"]}))["data"]["instance"]
                shown = (instance["status"]["substatus"] or {}).get("label")
                return shown == (told[-1] if told else None) and len(instance["events"]) == len(told)

            await until(as_told)
        assert told  # the driver's retry or the recorder carried some through


def _leading_keys(indexes: dict[str, Any]) -> set[str]:
    return {next(iter(dict(index["key"]))) for index in indexes.values()}


async def test_the_sweep_finds_what_was_left_by_an_index_not_by_reading_every_instance(store, monkeypatch):
    # Every gateway sweeps every 30 s. A query uses an index only if it constrains the index's
    # first key; otherwise each sweep reads the whole collection.
    with recording(monkeypatch) as sent:
        database = connect(store.url, store.new_database())
        await ensure_indexes(database)
        sent.clear()
        await InstanceChanges(database).flush_pending_events(older_than=utc_now())
    try:
        indexed = _leading_keys(await database.instances.index_information())
    finally:
        await database.close()
    [sweep] = [s for s in sent if s.command == "find"]
    assert indexed & set(sweep.filter), sweep.filter
