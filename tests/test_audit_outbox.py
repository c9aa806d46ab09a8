"""A change and its audit event land together: an event whose recording is interrupted
waits in the instance and is recorded by the next flush (run at every start)."""

from datetime import UTC, datetime

import pytest
from pymongo.errors import AutoReconnect

from app.errors import ServiceUnavailable
from app.store.changes import PENDING_EVENTS, Actor, InstanceChanges
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.factories import make_instance

ACTOR = Actor(changed_by="991825827", user_id=None, org="ttd", authentication_level=3)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_an_interrupted_recording_is_finished_by_the_next_flush(database):
    document = make_instance()
    await write_all(database, [normalize_instance(document)], [])
    changes = InstanceChanges(database)
    record = database.instance_events.replace_one

    def connection_lost(*args, **kwargs):
        raise AutoReconnect("connection closed")

    database.instance_events.replace_one = connection_lost
    with pytest.raises(ServiceUnavailable):
        await changes.soft_delete(document["id"], ACTOR, NOW)
    stored = await database.instances.find_one({"id": document["id"]})
    assert stored["status"]["isSoftDeleted"] is True
    [pending] = stored[PENDING_EVENTS]
    assert pending["eventType"] == "Deleted"
    assert await database.instance_events.count_documents({}) == 0

    database.instance_events.replace_one = record
    assert await changes.flush_pending_events() == 1
    assert await changes.flush_pending_events() == 0
    [event] = (await changes.events_of([document["id"]]))[document["id"]]
    assert event["id"] == pending["id"]
    assert event["processInfo"]["currentTask"]["elementId"] == "Task_1"
    assert PENDING_EVENTS not in await database.instances.find_one({"id": document["id"]})


async def test_a_recorded_change_leaves_no_trace_in_the_instance(database):
    document = make_instance()
    await write_all(database, [normalize_instance(document)], [])
    changed = await InstanceChanges(database).set_substatus(document["id"], {"label": "Accepted"}, ACTOR, NOW)
    assert changed.changed
    assert PENDING_EVENTS not in changed.document
    assert PENDING_EVENTS not in await database.instances.find_one({"id": document["id"]})
