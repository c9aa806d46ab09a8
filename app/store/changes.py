"""Changing instances: each change is one atomic update of one document, and each change that
happens is recorded as an InstanceEvent.

A change is decided from the instance as it was read, then written only if the instance is
still as read (compare-and-set on `lastChanged` and `status.readStatus`, which every change
moves); if another change landed in between, it is decided again from the instance as it is
now. So the changes of one instance are applied one after another, a repeat or a lost race is
detected instead of overwritten (the caller learns which: `Change.changed`), and each change is
stamped with the time it is applied, always later than the instance's `lastChanged` and its
unrecorded events: per instance `lastChanged` never goes back, even across gateways whose
clocks differ, and the audit trail, ordered by `created`, is the order the changes were applied.
Update operators touch only the fields a change is about. An old document's `status: null`
is replaced whole within the change itself, since MongoDB cannot set a field inside null.

The event is written in the same atomic update as the change, into the instance's
`_pendingEvents` (an outbox), then copied to instanceEvents and removed from the instance.
Once the update has landed the change has happened, whatever befalls the copy: an event that
cannot be copied stays in the outbox, and is recorded by the next change of its instance, by
`keep_recording` (which retries while the gateway runs) or by `flush_pending_events` at start.
MongoDB transactions would need a replica set, which the embedded store and many deployments
do not have.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import PyMongoError

from app.errors import GatewayError, ServiceUnavailable
from app.store.commands import note
from app.store.database import Database, driver_errors, to_list
from app.store.shard_key import event_key, instance_key
from app.timestamps import InvalidTimestamp, to_storage, utc_now

log = logging.getLogger("instance_gateway")

Document = dict[str, Any]
PENDING_EVENTS = "_pendingEvents"
_NO_ID = {"_id": 0}
# The audit trail's order: by `created`, then by `_id` among events of one `created` (see _event).
_OLDEST_FIRST = [("created", 1), ("_id", 1)]
# A field a change removes, among the fields it sets.
UNSET = object()
# Each failed attempt lost to a change that landed, so this many concurrent writers of one
# instance are served before one is told to try again.
MAX_ATTEMPTS = 100
_MILLISECOND = timedelta(milliseconds=1)
# Waits between attempts to record events that could not be, from the first on, then the last.
RECORDING_RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)
# How often the outbox is swept for events another gateway left (one that stopped, or whose
# database refused them), and how old such an event is before this gateway takes it on.
SWEEP_S = 30.0
STALE_S = 10.0

# The fields a change sets (dotted paths; UNSET removes one), decided from the instance as read
# and the change's time; None when the instance is already as asked.
Decision = Callable[[Document, datetime], Document | None]


@dataclass(frozen=True)
class Change:
    """The instance after a change was asked for, and whether this call changed it (False:
    it was already so, e.g. a repeat, or another caller got there first)."""

    document: Document
    changed: bool


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit trail and lastChangedBy record it."""

    changed_by: str
    user_id: str | None
    org: str | None
    authentication_level: int
    # A system user, and the organisation number of its owner, as Altinn's PlatformUser has them.
    system_user_id: str | None = None
    system_user_owner_org_no: str | None = None


class InstanceChanges:
    """Each change takes the instance as the caller read it (and may see it), and answers
    None when the instance no longer exists."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._instances = database.instances
        self._events = database.instance_events
        # Instances whose events this gateway could not record, and whether a retry failed too.
        self._unrecorded: set[str] = set()
        self._retry_failed = False
        self._recording_failed = asyncio.Event()
        # Changes of one instance in this gateway take turns; how many are waiting or changing.
        self._turns: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}

    async def set_substatus(self, instance: Document, substatus: Document | None, actor: Actor) -> Change | None:
        """Replaces (or with None, removes) the substatus."""

        def decide(_current: Document, now: datetime) -> Document:
            return {"status.substatus": UNSET if substatus is None else substatus, **_changed(actor, now)}

        return await self._change(instance, decide, "SubstatusUpdated", actor)

    async def soft_delete(self, instance: Document, actor: Actor) -> Change | None:
        """Moves the instance to the recycle bin; unchanged when it already was there."""

        def decide(current: Document, now: datetime) -> Document | None:
            status = _status(current)
            if status.get("isSoftDeleted") is True or status.get("isHardDeleted") is True:
                return None
            return {"status.isSoftDeleted": True, "status.softDeleted": now, **_changed(actor, now)}

        return await self._change(instance, decide, "Deleted", actor)

    async def hard_delete(self, instance: Document, actor: Actor) -> Change | None:
        """Makes the instance unrecoverable; unchanged when it already was. softDeleted keeps
        the time it first went to the recycle bin."""

        def decide(current: Document, now: datetime) -> Document | None:
            status = _status(current)
            if status.get("isHardDeleted") is True:
                return None
            fields = {"status.isHardDeleted": True, "status.hardDeleted": now, "status.isSoftDeleted": True}
            if status.get("softDeleted") is None:
                fields["status.softDeleted"] = now
            return fields | _changed(actor, now)

        return await self._change(instance, decide, "Deleted", actor)

    async def restore(self, instance: Document, actor: Actor) -> Change | None:
        """Takes a soft-deleted instance out of the recycle bin; unchanged when it was not there."""

        def decide(current: Document, now: datetime) -> Document | None:
            status = _status(current)
            if status.get("isSoftDeleted") is not True or status.get("isHardDeleted") is True:
                return None
            return {"status.isSoftDeleted": False, "status.softDeleted": UNSET, **_changed(actor, now)}

        return await self._change(instance, decide, "Undeleted", actor)

    async def confirm_complete(self, instance: Document, org: str, actor: Actor) -> Change | None:
        """Records the org's complete confirmation; unchanged when it had confirmed already."""

        def decide(current: Document, now: datetime) -> Document | None:
            confirmations = current.get("completeConfirmations")
            confirmations = confirmations if isinstance(confirmations, list) else []
            if any(isinstance(c, dict) and c.get("stakeholderId") == org for c in confirmations):
                return None
            confirmed = [*confirmations, {"stakeholderId": org, "confirmedOn": now}]
            return {"completeConfirmations": confirmed, **_changed(actor, now)}

        return await self._change(instance, decide, "ConfirmedComplete", actor)

    async def set_read_status(self, instance: Document, read_status: str, actor: Actor) -> Change | None:
        """Sets status.readStatus (not lastChanged: reading is no change); unchanged when it already was so."""

        def decide(current: Document, _now: datetime) -> Document | None:
            stored = _status(current).get("readStatus")
            # An absent readStatus reads as Unread: setting Unread there changes nothing.
            if stored == read_status or (stored is None and read_status == "Unread"):
                return None
            return {"status.readStatus": read_status}

        return await self._change(instance, decide, "MessageRead", actor)

    async def events_of(self, instance_ids: list[str]) -> dict[str, list[Document]]:
        """The audit trail of each instance, oldest first."""
        query = {"instanceId": {"$in": instance_ids}}
        note(self._database, self._events, "find", filter=query, projection=_NO_ID, sort=dict(_OLDEST_FIRST))
        with driver_errors():
            cursor = self._events.find(query, _NO_ID).sort(_OLDEST_FIRST)
            events = await to_list(cursor)
        trail: dict[str, list[Document]] = {i: [] for i in instance_ids}
        for event in events:
            trail[event["instanceId"]].append(event)
        return trail

    async def trail_of(
        self,
        instance_id: str,
        *,
        event_types: Sequence[str] = (),
        created_between: tuple[datetime, datetime] | None = None,
        event_id: str | None = None,
    ) -> list[Document]:
        """The instance's audit trail, oldest first, as Altinn Storage lists it: only the given
        event types (any, when none is given), only events created within the given range
        (both ends included), only the event of the given id."""
        query: Document = {"instanceId": instance_id}
        if event_id is not None:
            query["id"] = event_id
        if event_types:
            query["eventType"] = {"$in": list(event_types)}
        if created_between is not None:
            query["created"] = {"$gte": created_between[0], "$lte": created_between[1]}
        with driver_errors():
            return await to_list(self._events.find(query, _NO_ID).sort(_OLDEST_FIRST))

    async def _change(self, instance: Document, decide: Decision, event_type: str, actor: Actor) -> Change | None:
        async with self._turn(instance["id"]) as waited:
            # A change that waited for another finds the instance changed: read it as it is now.
            current = await self._read(instance["id"]) if waited else instance
            return await self._change_as_read(current, decide, event_type, actor)

    async def _change_as_read(
        self, current: Document | None, decide: Decision, event_type: str, actor: Actor
    ) -> Change | None:
        for _ in range(MAX_ATTEMPTS):
            if current is None:
                return None
            now = _stamp(current)
            fields = decide(current, now)
            if fields is None:
                return Change(_as_stored(current), changed=False)
            event = _event(event_type, current, actor, now)
            update = _update(current, fields)
            update["$push"] = {PENDING_EVENTS: event}
            query = {**instance_key(current["id"]), **_unchanged_since(current)}
            changed = await self._database.update_and_read(self._instances, query, update, _NO_ID)
            if changed is not None:
                await self._record_outbox(changed)
                return Change(_as_stored(changed), changed=True)
            current = await self._read(current["id"])
        raise ServiceUnavailable("the instance is being changed by too many callers at once; try again")

    async def _read(self, instance_id: str) -> Document | None:
        with driver_errors():
            return await self._instances.find_one(instance_key(instance_id), _NO_ID)

    @contextlib.asynccontextmanager
    async def _turn(self, instance_id: str) -> AsyncIterator[bool]:
        """This gateway's changes of one instance, one after another (whether this one waited):
        each is then applied at its first attempt, where concurrent attempts would each cost a
        read and an update per change that lands before them. Other gateways' changes still
        meet at the compare-and-set."""
        lock = self._turns.setdefault(instance_id, asyncio.Lock())
        self._queued[instance_id] = self._queued.get(instance_id, 0) + 1
        try:
            waited = lock.locked()
            async with lock:
                yield waited
        finally:
            self._queued[instance_id] -= 1
            if not self._queued[instance_id]:
                del self._queued[instance_id], self._turns[instance_id]

    async def _record_outbox(self, instance: Document) -> bool:
        """Record the events in the instance's outbox, oldest first. A failure is logged and
        left to `keep_recording`: the changes have happened all the same."""
        try:
            await self._record_all(instance)
            if instance["id"] in self._unrecorded:
                self._unrecorded.discard(instance["id"])
                log.info("the audit events of %s are recorded", instance["id"])
        except Exception as error:  # whatever it is, the change has happened: the caller is told so
            if instance["id"] not in self._unrecorded:
                log.warning(
                    "the audit event of a change of %s is not recorded yet (%s); retrying", instance["id"], error
                )
            self._unrecorded.add(instance["id"])
            self._recording_failed.set()
            return False
        return True

    async def _record_all(self, instance: Document) -> None:
        for event in instance.get(PENDING_EVENTS) or []:
            await self._record(instance, event)

    async def _record(self, instance: Document, event: Document) -> None:
        # Idempotent by event id, so a retry after a crash never records an event twice.
        # (processInfo is in the event since it was applied; an older gateway's event takes it now.)
        recorded = {"processInfo": instance.get("process"), **event}
        key = instance_key(instance["id"])
        with driver_errors():
            await self._events.replace_one(event_key(instance["id"], event["id"]), recorded, upsert=True)
            await self._instances.update_one(key, {"$pull": {PENDING_EVENTS: {"id": event["id"]}}})
            await self._instances.update_one({**key, PENDING_EVENTS: {"$size": 0}}, {"$unset": {PENDING_EVENTS: ""}})
        await self._database.announce(instance["id"])

    async def flush_pending_events(self, *, older_than: datetime | None = None) -> int:
        """Record the events of changes whose recording was interrupted (with `older_than`, only
        those applied before it); how many there were. Raises when one cannot be recorded."""
        # By the sparse index on the outbox's ids: the gateways' sweep must not read every instance.
        stuck_query: Document = {f"{PENDING_EVENTS}.id": {"$exists": True}}
        if older_than is not None:
            stuck_query[f"{PENDING_EVENTS}.created"] = {"$lt": older_than}
        with driver_errors():
            stuck = await to_list(self._instances.find(stuck_query, _NO_ID))
        for instance in stuck:
            await self._record_all(instance)
        return sum(len(i.get(PENDING_EVENTS) or []) for i in stuck)

    @property
    def recording_failure(self) -> str | None:
        """Why applied changes are not all recorded, once a retry has failed too; else None."""
        if not (self._retry_failed and self._unrecorded):
            return None
        return f"the audit events of changes of {len(self._unrecorded)} instances cannot be recorded yet; retrying"

    @property
    def unrecorded_instances(self) -> int:
        return len(self._unrecorded)

    async def keep_recording(self) -> None:
        """Until cancelled: record the events this gateway could not (soon after the failure,
        then with growing waits while the database refuses them), and sweep for those that
        another gateway left."""
        failures = 0
        next_sweep = time.monotonic() + SWEEP_S
        while True:
            if failures:
                await asyncio.sleep(RECORDING_RETRY_S[min(failures, len(RECORDING_RETRY_S)) - 1])
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._recording_failed.wait(), max(0.0, next_sweep - time.monotonic()))
            self._recording_failed.clear()
            recorded = await self._retry_unrecorded()
            if time.monotonic() >= next_sweep:
                recorded = await self._sweep() and recorded
                next_sweep = time.monotonic() + SWEEP_S
            failures = 0 if recorded else failures + 1
            self._retry_failed = not recorded

    async def _retry_unrecorded(self) -> bool:
        for instance_id in list(self._unrecorded):
            try:
                instance = await self._read(instance_id)
            except (GatewayError, PyMongoError):
                return False
            if instance is None:  # purged meanwhile
                self._unrecorded.discard(instance_id)
            elif not await self._record_outbox(instance):
                return False
        return True

    async def _sweep(self) -> bool:
        try:
            found = await self.flush_pending_events(older_than=utc_now() - timedelta(seconds=STALE_S))
        except (GatewayError, PyMongoError) as error:
            log.debug("the outbox sweep failed (%s); it is tried again", error)
            return False
        if found:
            log.warning("recorded %d audit events of changes that another gateway left unrecorded", found)
        return True


def _status(instance: Document) -> Document:
    status = instance.get("status")
    return status if isinstance(status, dict) else {}


def _as_stored(instance: Document) -> Document:
    return {k: v for k, v in instance.items() if k != PENDING_EVENTS}


def _time(value: object) -> datetime | None:
    try:
        return to_storage(value)
    except InvalidTimestamp:
        return None


def _stamp(instance: Document) -> datetime:
    """The time of a change applied now: the clock's, or a millisecond after the instance's
    latest change when the clock is not past it (another gateway's clock ahead, or the same
    millisecond)."""
    now = utc_now()
    times = [_time(instance.get("lastChanged")), *(_time(e.get("created")) for e in instance.get(PENDING_EVENTS) or [])]
    latest = max((t for t in times if t is not None), default=None)
    return now if latest is None or now > latest else latest + _MILLISECOND


def _same(value: object) -> object:
    # None matches a null field and a missing one, which every change replaces with a value.
    return None if value is None else {"$eq": value}


def _unchanged_since(instance: Document) -> Document:
    """The guard that the instance is still as read: every change moves `lastChanged` or
    `status.readStatus`, and a `status` that is not an object is replaced whole."""
    status = instance.get("status")
    guard = {"lastChanged": _same(instance.get("lastChanged"))}
    if isinstance(status, dict):
        return guard | {"status": {"$ne": None}, "status.readStatus": _same(status.get("readStatus"))}
    return guard | {"status": _same(status)}


def _update(instance: Document, fields: Document) -> Document:
    """The update operators that set `fields` on the instance as read. A field inside a
    container that is not an object (an old document's `status: null`) sets the container whole."""
    sets: Document = {}
    unsets: Document = {}
    for path, value in fields.items():
        container, _, name = path.partition(".")
        if name and not isinstance(instance.get(container), dict):
            if value is not UNSET:
                sets.setdefault(container, {})[name] = value
        elif value is UNSET:
            unsets[path] = ""
        else:
            sets[path] = value
    update: Document = {"$set": sets}
    if unsets:
        update["$unset"] = unsets
    return update


def _changed(actor: Actor, now: datetime) -> Document:
    return {"lastChanged": now, "lastChangedBy": actor.changed_by}


def _event(event_type: str, instance: Document, actor: Actor, now: datetime) -> Document:
    user = {
        "userId": actor.user_id,
        "orgId": actor.org,
        "authenticationLevel": actor.authentication_level,
        "systemUserId": actor.system_user_id,
        "systemUserOwnerOrgNo": actor.system_user_owner_org_no,
    }
    instance_id = instance["id"]
    return {
        # Made as the change is applied: among events of one `created`, a gateway's later
        # change has the greater _id, which orders the trail after `created`.
        "_id": ObjectId(),
        "id": str(uuid.uuid4()),
        "instanceId": instance_id,
        "created": now,
        "eventType": event_type,
        "instanceOwnerPartyId": instance_id.partition("/")[0],
        "user": {k: v for k, v in user.items() if v is not None},
        "processInfo": instance.get("process"),
    }
