"""Reading MongoDB's change events, directly: a gateway's own change reaches subscribers once,
when its audit event is recorded; anyone else's at once."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, OperationFailure

from app.store.change_stream import ChangesLost, _events, _HeldChanges

AT = datetime(2026, 1, 1, tzinfo=UTC)


def event(operation: str, *, updated: dict[str, Any] | None = None, removed=(), before=None, after=None):
    change: dict[str, Any] = {
        "_id": {"_data": "01"},
        "operationType": operation,
        "documentKey": {"_id": 7},
        "wallTime": AT,
        "fullDocumentBeforeChange": before,
        "fullDocument": after,
    }
    if operation == "update":
        change["updateDescription"] = {"updatedFields": updated or {}, "removedFields": list(removed)}
    return change


ORIGINAL, CHANGED = {"_id": 7, "n": 0}, {"_id": 7, "n": 1}


def test_a_gateway_change_is_held_until_its_outbox_is_empty_and_keeps_its_first_pre_image():
    held = _HeldChanges()
    opened = {"n": 1, "_pendingEvents": [{"id": "e"}]}
    assert held.complete(event("update", updated=opened, before=ORIGINAL, after=CHANGED)) is None
    # recording the audit event: the entry is pulled, then the empty outbox removed
    pulled = {"_pendingEvents": []}
    assert held.complete(event("update", updated=pulled, before=CHANGED, after=CHANGED)) is None
    emptied = held.complete(event("update", removed=["_pendingEvents"], before=CHANGED, after=CHANGED))
    assert emptied is not None
    assert (emptied.operation, emptied.key, emptied.before, emptied.after, emptied.at) == (
        "update", 7, ORIGINAL, CHANGED, AT
    )  # fmt: skip


def test_two_changes_recorded_together_reach_subscribers_as_one():
    held = _HeldChanges()
    held.complete(event("update", updated={"n": 1, "_pendingEvents.0": {}}, before=ORIGINAL, after=CHANGED))
    held.complete(event("update", updated={"n": 2, "_pendingEvents.1": {}}, before=CHANGED, after=CHANGED))
    done = held.complete(event("update", removed=["_pendingEvents"], before=CHANGED, after=CHANGED))
    assert done is not None and done.before == ORIGINAL


def test_other_writers_changes_pass_at_once():
    held = _HeldChanges()
    for operation in ("insert", "replace", "delete"):
        change = held.complete(event(operation, before=ORIGINAL, after=CHANGED))
        assert change is not None and change.operation == operation
    plain = held.complete(event("update", updated={"n": 1}, before=ORIGINAL, after=CHANGED))
    assert plain is not None and (plain.before, plain.after) == (ORIGINAL, CHANGED)


def test_a_delete_forgets_a_held_change():
    held = _HeldChanges()
    held.complete(event("update", updated={"n": 1, "_pendingEvents": [{}]}, before=ORIGINAL, after=CHANGED))
    deleted = held.complete(event("delete", before=CHANGED))
    assert deleted is not None and deleted.operation == "delete"
    # an outbox emptied later (a restart's recovery) no longer carries the forgotten pre-image
    late = held.complete(event("update", removed=["_pendingEvents"], before=CHANGED, after=CHANGED))
    assert late is not None and late.before == CHANGED


class _OneEventThenGone:
    """A collection whose stream gives one change and breaks, and which then refuses to resume
    from that change's token: the oplog has moved past it (ChangeStreamHistoryLost)."""

    name = "instances"

    def __init__(self) -> None:
        self.database = self
        self.watched_after: list[Any] = []

    async def command(self, command: dict[str, Any]) -> None:  # collMod: pre-images on
        return None

    async def watch(self, pipeline: Any, *, resume_after: Any, **options: Any) -> Any:
        self.watched_after.append(resume_after)
        if resume_after is not None:
            raise OperationFailure("Resume of change stream was not possible", code=286)
        return _Stream()


class _Stream:
    def __init__(self) -> None:
        self.resume_token = {"_data": "01"}
        self._events = [event("insert", after=ORIGINAL)]

    async def __aenter__(self) -> "_Stream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def try_next(self) -> dict[str, Any] | None:
        if self._events:
            return self._events.pop()
        raise AutoReconnect("the connection broke")


async def test_a_stream_that_cannot_resume_says_its_changes_were_lost_rather_than_retrying_forever():
    collection = _OneEventThenGone()
    seen = []
    with pytest.raises(ChangesLost, match="instances cannot resume"):
        async for change in _events(collection, lambda: None, asyncio.Event(), "-"):
            seen.append(change)
    assert [e["operationType"] for e in seen] == ["insert"]
    assert collection.watched_after == [None, {"_data": "01"}]
