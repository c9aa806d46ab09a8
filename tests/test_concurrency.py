"""Many simultaneous mutations on one instance, over HTTP in process: no lost update, and
exactly one audit event per change that happened.

The embedded store answers every call without suspending, so on its own it interleaves
requests only between database calls of the HTTP stack. The `suspending` variant makes every
database call a suspension point, as a network round trip to MongoDB is, so that concurrent
requests interleave between their reads and their writes too. On the wire-protocol server
every call is a real round trip over TCP.
"""

import asyncio
import contextlib
import contextvars
import itertools
from collections import Counter
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockCollection

from app.store.changes import Actor, InstanceChanges
from app.store.database import Database, connect
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.conftest import WIRE, open_store, user_token
from tests.factories import make_instance

_SUSPENDING_METHODS = ("find_one", "find_one_and_update", "update_one", "insert_one", "count_documents")
_inside_one_operation = contextvars.ContextVar("inside_one_operation", default=False)


@contextlib.contextmanager
def database_calls_suspend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def suspending(original):
        async def call(self, *args, **kwargs):
            if not _inside_one_operation.get():
                await asyncio.sleep(0)
            result = await original(self, *args, **kwargs)
            if not _inside_one_operation.get():
                await asyncio.sleep(0)
            return result

        return call

    for name in _SUSPENDING_METHODS:
        monkeypatch.setattr(AsyncMongoMockCollection, name, suspending(getattr(AsyncMongoMockCollection, name)))

    # On MongoDB, update_and_read is one find_one_and_update; the embedded store needs two
    # calls for it, which must stay one operation here too.
    original_update_and_read = Database.update_and_read

    async def update_and_read(self, *args, **kwargs):
        await asyncio.sleep(0)
        token = _inside_one_operation.set(True)
        try:
            return await original_update_and_read(self, *args, **kwargs)
        finally:
            _inside_one_operation.reset(token)

    monkeypatch.setattr(Database, "update_and_read", update_and_read)
    yield


@pytest.fixture(params=["embedded", "suspending", WIRE])
def store(request, monkeypatch):
    """The embedded store as it is and with suspending calls, and a wire-protocol server,
    where every call is a network round trip that suspends by itself."""
    if request.param == "suspending":
        with database_calls_suspend(monkeypatch):
            yield from open_store(request, "embedded")
    else:
        yield from open_store(request, request.param)


DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
LABELS = [f"label-{n:02d}" for n in range(50)]

SET_SUBSTATUS = (
    "mutation($id: ID!, $label: String!) { setSubstatus(instanceId: $id, substatus: {label: $label}) "
    "{ status { substatus { label } } } }"
)
CONFIRM = "mutation($id: ID!) { confirmComplete(instanceId: $id) { completeConfirmations { stakeholderId } } }"
READ_STATUS = "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { status { readStatus } } }"
DELETE = (
    "mutation($id: ID!, $hard: Boolean!) { deleteInstance(instanceId: $id, hard: $hard) { status { isHardDeleted } } }"
)
STATE = (
    "query($id: ID!) { instance(id: $id) { org lastChanged lastChangedBy completeConfirmations { stakeholderId } "
    "status { isSoftDeleted softDeleted isHardDeleted hardDeleted readStatus substatus { label } } "
    "events { eventType } } }"
)


async def state(gw, instance_id: str) -> dict[str, Any]:
    return (await gw.data(STATE, {"id": instance_id}))["instance"]


def event_counts(instance: dict[str, Any]) -> Counter[str]:
    return Counter(e["eventType"] for e in instance["events"])


async def staggered(*requests: Awaitable[dict[str, Any]]) -> list[dict[str, Any]]:
    """All requests at once, the n-th starting n event-loop turns after the first, so that
    their reads and writes overlap in every phase instead of running in lockstep."""

    async def after_turns(turns: int, request: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        for _ in range(turns):
            await asyncio.sleep(0)
        return await request

    return await asyncio.gather(*(after_turns(n, r) for n, r in enumerate(requests)))


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return body["data"]


async def test_simultaneous_changes_of_different_kinds_all_land(gateway_with):
    doc = make_instance(party_id="500")
    start = datetime.now(UTC) - timedelta(milliseconds=2)
    dagl = user_token("1", "1")
    async with gateway_with([doc], DAGL) as gw:
        requests = [gw.query(SET_SUBSTATUS, {"id": doc["id"], "label": label}) for label in LABELS]
        # confirmations and read-status changes spread among the substatus updates
        for position in (45, 35, 25, 15, 5):
            requests.insert(position, gw.query(CONFIRM, {"id": doc["id"]}))
        for position in (40, 20, 1):
            requests.insert(position, gw.query(READ_STATUS, {"id": doc["id"]}, token=dagl))
        answers = [ok(body) for body in await staggered(*requests)]
        after = await state(gw, doc["id"])

    # each substatus answer shows its own label
    labels = [a["setSubstatus"]["status"]["substatus"]["label"] for a in answers if "setSubstatus" in a]
    assert labels == LABELS
    assert sum("confirmComplete" in a for a in answers) == 5
    assert after["status"]["substatus"]["label"] in LABELS
    assert datetime.fromisoformat(after["lastChanged"]) >= start
    assert after["lastChangedBy"] == "991825827"
    assert after["completeConfirmations"] == [{"stakeholderId": "ttd"}]
    assert after["status"]["readStatus"] == "READ"
    assert event_counts(after) == {"SubstatusUpdated": 50, "ConfirmedComplete": 1, "MessageRead": 1}


async def test_a_delete_racing_substatus_updates_leaves_a_consistent_document(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        labels = LABELS[:20]
        requests = [gw.query(SET_SUBSTATUS, {"id": doc["id"], "label": label}) for label in labels[:10]]
        requests.append(gw.query(DELETE, {"id": doc["id"], "hard": False}))
        requests += [gw.query(SET_SUBSTATUS, {"id": doc["id"], "label": label}) for label in labels[10:]]
        for body in await staggered(*requests):
            ok(body)
        after = await state(gw, doc["id"])
    assert after["status"]["isSoftDeleted"] is True
    assert after["status"]["softDeleted"] is not None
    assert after["status"]["isHardDeleted"] is False
    assert after["status"]["substatus"]["label"] in labels
    assert event_counts(after) == {"SubstatusUpdated": 20, "Deleted": 1}


async def test_concurrent_hard_deletes_record_exactly_one_deleted_event(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        bodies = await staggered(*[gw.query(DELETE, {"id": doc["id"], "hard": True}) for _ in range(20)])
        for body in bodies:
            assert ok(body)["deleteInstance"]["status"]["isHardDeleted"] is True
        after = await state(gw, doc["id"])
    assert after["status"]["isSoftDeleted"] is True
    assert after["status"]["softDeleted"] == after["status"]["hardDeleted"]
    assert event_counts(after) == {"Deleted": 1}


async def test_concurrent_soft_and_hard_deletes_end_hard_deleted_with_at_most_two_events(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        requests = [gw.query(DELETE, {"id": doc["id"], "hard": n % 2 == 0}) for n in range(20)]
        for body in await staggered(*requests):
            ok(body)
        after = await state(gw, doc["id"])
    status = after["status"]
    assert (status["isSoftDeleted"], status["isHardDeleted"]) == (True, True)
    assert status["softDeleted"] <= status["hardDeleted"]
    # one transition to the recycle bin and one to hard-deleted, or both at once; never more
    assert set(event_counts(after)) == {"Deleted"}
    assert event_counts(after)["Deleted"] in (1, 2)


async def test_concurrent_confirmations_by_one_org_add_one_entry(gateway_with):
    doc = make_instance(status=None, completeConfirmations=None)  # an old document, repaired on the way
    async with gateway_with([doc]) as gw:
        bodies = await staggered(*[gw.query(CONFIRM, {"id": doc["id"]}) for _ in range(20)])
        for body in bodies:
            assert ok(body)["confirmComplete"]["completeConfirmations"] == [{"stakeholderId": "ttd"}]
        after = await state(gw, doc["id"])
    assert after["completeConfirmations"] == [{"stakeholderId": "ttd"}]
    assert event_counts(after) == {"ConfirmedComplete": 1}


async def test_two_bulk_deletes_at_once_delete_each_instance_once(gateway_with):
    docs = [make_instance() for _ in range(15)]
    query = (
        'mutation { deleteInstances(filter: {appId: {eq: "ttd/skjema-a"}}, dryRun: false) '
        "{ matched failed { instanceId } } }"
    )
    async with gateway_with(docs) as gw:
        for body in await staggered(gw.query(query), gw.query(query), gw.query(query)):
            result = ok(body)["deleteInstances"]
            assert result["matched"] == 15
            assert result["failed"] == []
        for doc in docs:
            after = await state(gw, doc["id"])
            assert after["status"]["isSoftDeleted"] is True
            assert event_counts(after) == {"Deleted": 1}


RESTORE = "mutation($id: ID!) { restoreInstance(instanceId: $id) { lastChanged } }"
TRAIL = "query($id: ID!) { instance(id: $id) { lastChanged status { isSoftDeleted } events { eventType created } } }"


async def test_deletes_and_restores_at_once_are_stamped_and_recorded_in_the_order_they_were_applied(gateway_with):
    doc = make_instance(lastChanged="2020-01-01T00:00:00Z")
    async with gateway_with([doc]) as gw:
        requests = [
            gw.query(RESTORE, {"id": doc["id"]}) if n % 2 else gw.query(DELETE, {"id": doc["id"], "hard": False})
            for n in range(40)
        ]
        for body in await staggered(*requests):
            ok(body)
        after = (await gw.data(TRAIL, {"id": doc["id"]}))["instance"]
    kinds = [e["eventType"] for e in after["events"]]
    times = [datetime.fromisoformat(e["created"]) for e in after["events"]]
    # a delete applies only to an instance out of the recycle bin and a restore only to one in
    # it, so in the order they were applied they alternate, whichever requests won
    assert kinds[0] == "Deleted"
    assert all(a != b for a, b in itertools.pairwise(kinds)), kinds
    assert after["status"]["isSoftDeleted"] is (kinds[-1] == "Deleted")
    # each is stamped when it was applied, after the one before: lastChanged never went back
    assert all(a < b for a, b in itertools.pairwise(times)), times
    assert datetime.fromisoformat(after["lastChanged"]) == times[-1]


async def test_two_gateways_changing_one_instance_at_once_meet_at_the_compare_and_set(store):
    # Each gateway's changes of an instance take turns; two gateways' changes meet in the database.
    database = connect(store.url, store.new_database())
    doc = normalize_instance(make_instance(lastChanged="2020-01-01T00:00:00Z"))
    await write_all(database, [doc], [])
    gateways = (InstanceChanges(database), InstanceChanges(database))
    actor = Actor(changed_by="991825827", user_id=None, org="ttd", authentication_level=3)

    async def flip(n: int):
        changes = gateways[n % 2]
        read = await database.instances.find_one({"id": doc["id"]}, {"_id": 0})
        return await (changes.restore(read, actor) if n % 3 else changes.soft_delete(read, actor))

    try:
        changed = [c.changed for c in await asyncio.gather(*(flip(n) for n in range(30)))]
        trail = (await gateways[0].events_of([doc["id"]]))[doc["id"]]
        after = await database.instances.find_one({"id": doc["id"]})
    finally:
        await database.close()
    kinds = [e["eventType"] for e in trail]
    assert len(kinds) == sum(changed) and kinds[0] == "Deleted"
    assert all(a != b for a, b in itertools.pairwise(kinds)), kinds
    times = [e["created"] for e in trail]
    assert all(a < b for a, b in itertools.pairwise(times)), times
    assert after["lastChanged"] == times[-1]
