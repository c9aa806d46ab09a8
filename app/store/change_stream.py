"""Following MongoDB's change streams of the instances and partyRoles collections: one stream
each, resumed from its last resume token after a network error or a step-down, so that no
change is lost.

Change streams need a replica set (a single-node one will do); a standalone server refuses
them, which `ChangeStreamsUnavailable` reports once. The changes after one change are read
again (`replay_changes`) by a second stream resumed from its event's resume token, for as long
as the oplog holds them.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import bson
from bson.errors import InvalidBSON
from pymongo.errors import OperationFailure, PyMongoError

from app.store.change_feed import Document, PositionForgotten, StoredChange
from app.store.changes import PENDING_EVENTS
from app.store.database import Database, driver_errors

log = logging.getLogger("instance_gateway")

# mongod's IllegalOperation for `$changeStream` on a standalone server.
STANDALONE_CODE = 40573
# How long one getMore waits for changes: also how long a stopping gateway waits for the stream
# to close cleanly. Below the client's timeoutMS, which bounds every call.
MAX_AWAIT_MS = 100
# Waits between attempts to reopen a broken stream: from the first to the last, then the last.
RETRY_DELAYS_S = (0.05, 0.2, 0.5, 1.0, 2.0)
CHANGE_OPERATIONS = ("insert", "update", "replace", "delete")
# Changes held until their audit event is recorded; beyond this the oldest is forgotten (a
# gateway that stopped between the two steps leaves its change held until it restarts).
HELD_CHANGES = 10_000
# What the server answers a resume token it cannot resume from: ChangeStreamHistoryLost (the
# oplog has moved past it), ChangeStreamFatalError, InvalidResumeToken, FailedToParse.
FORGOTTEN_CODES = frozenset({286, 280, 260, 9})


class ChangeStreamsUnavailable(Exception):
    """The server cannot give change streams: it is not a replica set member."""


class ChangesLost(Exception):
    """A broken stream cannot resume where it broke: the oplog no longer holds the changes
    since then (the gateway was cut off for longer than the oplog's window). What those
    changes were is unknown; the stream opens again from now on."""


async def _enable_pre_images(collection: Any, without_them: str) -> None:
    """Ask MongoDB (6.0 or later) to keep each document as it was before a change, so that a
    change that takes an instance out of a subscriber's sight can be told from one that never
    was in it, and a deleted grant names its user. Without them (an older server, or no collMod
    privilege) `without_them` is logged. Connection errors propagate."""
    try:
        pre_images = {"changeStreamPreAndPostImages": {"enabled": True}}
        await collection.database.command({"collMod": collection.name, **pre_images})
    except OperationFailure as error:
        log.warning("change stream pre-images of %s are off (%s): %s", collection.name, error, without_them)


async def follow_changes(
    database: Database, on_open: Callable[[], None], stopping: asyncio.Event
) -> AsyncIterator[StoredChange]:
    """Every insert, update, replace and delete of an instance from the stream's opening on
    (`on_open` is called then) until `stopping` is set; raises ChangeStreamsUnavailable on a
    standalone server."""
    held = _HeldChanges()
    without_pre_images = "DELETED reaches only who saw the instance"
    async for event in _events(database.instances, on_open, stopping, without_pre_images):
        change = held.complete(event)
        if change is not None:
            yield change


async def follow_grant_changes(
    database: Database, on_open: Callable[[], None], stopping: asyncio.Event
) -> AsyncIterator[str | None]:
    """The users whose role grants change from the stream's opening on (`on_open` is called
    then) until `stopping` is set; None for a grant deleted where MongoDB keeps no pre-images,
    whose user cannot be told. Raises ChangeStreamsUnavailable on a standalone server."""
    without_pre_images = "a deleted grant has every role holder's grants read again"
    async for event in _events(database.party_roles, on_open, stopping, without_pre_images):
        grants = [event.get("fullDocumentBeforeChange"), event.get("fullDocument")]
        users = {str(grant["userId"]) for grant in grants if grant and "userId" in grant}
        for user in users or [None]:
            yield user


async def _events(
    collection: Any, on_open: Callable[[], None], stopping: asyncio.Event, without_pre_images: str
) -> AsyncIterator[dict[str, Any]]:
    """The change events of `collection` from the stream's opening on (`on_open` is called
    then) until `stopping` is set."""
    resume_token: Any = None
    failures = 0
    pre_images_asked = False
    while not stopping.is_set():
        try:
            if not pre_images_asked:
                await _enable_pre_images(collection, without_pre_images)
                pre_images_asked = True
            async with await _watch(collection, resume_token) as stream:
                if failures:
                    log.info("the change stream of %s is open again, resumed where it broke", collection.name)
                failures = 0
                on_open()
                while not stopping.is_set():
                    event = await stream.try_next()
                    _stop_if_cancelled()
                    resume_token = stream.resume_token
                    if event is not None:
                        yield event
        except OperationFailure as error:
            if error.code == STANDALONE_CODE:
                raise ChangeStreamsUnavailable(str(error)) from None
            if error.code in FORGOTTEN_CODES and resume_token is not None:
                # Retrying the same token would fail forever, and skipping it would lose changes unsaid.
                raise ChangesLost(f"the change stream of {collection.name} cannot resume: {error}") from None
            failures = await _wait_after(collection.name, error, failures)
        except PyMongoError as error:
            failures = await _wait_after(collection.name, error, failures)


async def replay_changes(database: Database, after: Any) -> AsyncIterator[StoredChange]:
    """The changes after the one whose resume token is `after`, up to the stream's present
    end; PositionForgotten when the oplog no longer holds them. A change of this gateway whose
    event opened before `after` and is recorded after it comes with its recorded pre-image,
    not the one before the change (see _HeldChanges)."""
    try:
        resume_token = bson.decode(after)
    except (TypeError, InvalidBSON):  # a position of the embedded store
        raise PositionForgotten from None
    held = _HeldChanges()
    try:
        with driver_errors():
            async with await _watch(database.instances, resume_token) as stream:
                # None: a read found nothing more, the stream is at the present.
                while (event := await stream.try_next()) is not None:
                    change = held.complete(event)
                    if change is not None:
                        yield change
    except OperationFailure as error:
        if error.code in FORGOTTEN_CODES:
            raise PositionForgotten from None
        raise


async def _watch(collection: Any, resume_after: Any) -> Any:
    # The one way both the followed streams and a replay read changes, so they read alike.
    return await collection.watch(
        [{"$match": {"operationType": {"$in": list(CHANGE_OPERATIONS)}}}],
        full_document="updateLookup",
        full_document_before_change="whenAvailable",
        resume_after=resume_after,
        max_await_time_ms=MAX_AWAIT_MS,
    )


def _stop_if_cancelled() -> None:
    # The driver can swallow a cancellation that lands inside a call, or turn it into an
    # error of its own; following on would ignore the gateway's stop.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _wait_after(name: str, error: PyMongoError, failures: int) -> int:
    _stop_if_cancelled()
    delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S) - 1)]
    # Once per outage at WARNING; while the database stays away, every attempt at DEBUG.
    level = logging.WARNING if failures == 0 else logging.DEBUG
    log.log(
        level, "the change stream of %s broke (%s); reopening it from its last position in %.2f s", name, error, delay
    )
    await asyncio.sleep(delay)
    return failures + 1


class _HeldChanges:
    """A gateway's change pushes its audit event into the instance's outbox, records it, then
    empties the outbox in updates of its own (app/store/changes.py). The change is held until
    the outbox is empty, so that it reaches subscribers once, with its audit event recorded;
    other writers' changes pass at once."""

    def __init__(self) -> None:
        self._before: dict[Any, Document | None] = {}  # _id -> the document before the held change

    def complete(self, event: dict[str, Any]) -> StoredChange | None:
        """The change this event completes, if any."""
        key = event["documentKey"]["_id"]
        description = event.get("updateDescription") or {}
        updated, removed = description.get("updatedFields", {}), description.get("removedFields", [])
        outbox = [p for p in [*updated, *removed] if p.split(".")[0] == PENDING_EVENTS]
        if event["operationType"] != "update" or not outbox:
            self._before.pop(key, None)
            return _stored_change(event, event.get("fullDocumentBeforeChange"))
        if PENDING_EVENTS in removed:  # emptied: every change held for it is recorded
            return _stored_change(event, self._before.pop(key, event.get("fullDocumentBeforeChange")))
        if len(outbox) < len(updated) + len(removed):  # a change that opened an outbox entry
            if key not in self._before and len(self._before) >= HELD_CHANGES:
                self._before.pop(next(iter(self._before)))
            self._before.setdefault(key, event.get("fullDocumentBeforeChange"))
        return None


def _stored_change(event: dict[str, Any], before: Document | None) -> StoredChange:
    at = event.get("wallTime")
    if at is None:
        at = event["clusterTime"].as_datetime() if "clusterTime" in event else datetime.now(UTC)
    return StoredChange(
        operation=event["operationType"],
        key=event["documentKey"]["_id"],
        before=before,
        after=event.get("fullDocument"),
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        # The resume token as BSON bytes: a value positions can be compared and kept by.
        position=bson.encode(event["_id"]),
    )
