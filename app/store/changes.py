"""Changing instances: each change is one atomic update of one document, guarded so that a
repeat or a concurrent change is detected instead of overwritten (the caller learns which:
`Change.changed`), and each change that happens is recorded as an InstanceEvent.

Update operators touch only the fields a change is about, so concurrent changes of other
fields (a delete racing a substatus update) both land.

The event is written in the same atomic update as the change, into the instance's
`_pendingEvents` (an outbox), then copied to instanceEvents and removed from the instance.
A crash between those steps loses nothing: `flush_pending_events` (run at start) finishes
the copy. MongoDB transactions would need a replica set, which the embedded store and many
deployments do not have.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store.database import Database, driver_errors, to_list

Document = dict[str, Any]
PENDING_EVENTS = "_pendingEvents"
_NO_ID = {"_id": 0}
_AS_STORED = {"_id": 0, PENDING_EVENTS: 0}


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


class InstanceChanges:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._instances = database.instances
        self._events = database.instance_events

    async def set_substatus(
        self, instance_id: str, substatus: Document | None, actor: Actor, now: datetime
    ) -> Change | None:
        """Replaces (or with None, removes) the substatus."""
        await self._repair_null_containers(instance_id)
        update: Document = {"$set": _changed(actor, now)}
        if substatus is None:
            update["$unset"] = {"status.substatus": ""}
        else:
            update["$set"]["status.substatus"] = substatus
        return await self._change_if(instance_id, {}, update, "SubstatusUpdated", actor, now)

    async def soft_delete(self, instance_id: str, actor: Actor, now: datetime) -> Change | None:
        """Moves the instance to the recycle bin; unchanged when it already was there."""
        await self._repair_null_containers(instance_id)
        changes = {"status.isSoftDeleted": True, "status.softDeleted": now, **_changed(actor, now)}
        guard = {"status.isSoftDeleted": {"$ne": True}, "status.isHardDeleted": {"$ne": True}}
        return await self._change_if(instance_id, guard, {"$set": changes}, "Deleted", actor, now)

    async def hard_delete(self, instance_id: str, actor: Actor, now: datetime) -> Change | None:
        """Makes the instance unrecoverable; unchanged when it already was."""
        await self._repair_null_containers(instance_id)
        changes = {"status.isHardDeleted": True, "status.hardDeleted": now, "status.isSoftDeleted": True}
        changes |= _changed(actor, now)
        not_hard_deleted = {"status.isHardDeleted": {"$ne": True}}
        # softDeleted keeps the time it first went to the recycle bin; one of these two
        # guarded updates applies, whichever matches the document as it is now. A soft delete
        # by a request that began after this one may have landed first, with a later time:
        # $min keeps softDeleted no later than hardDeleted.
        first_delete = {"$set": {**changes, "status.softDeleted": now}}
        deleted = await self._apply_if(
            instance_id, {**not_hard_deleted, "status.softDeleted": None}, first_delete, "Deleted", actor, now
        )
        if deleted is None:
            guard = {**not_hard_deleted, "status.softDeleted": {"$ne": None}}
            again = {"$set": changes, "$min": {"status.softDeleted": now}}
            deleted = await self._apply_if(instance_id, guard, again, "Deleted", actor, now)
        return await self._outcome(instance_id, deleted)

    async def restore(self, instance_id: str, actor: Actor, now: datetime) -> Change | None:
        """Takes a soft-deleted instance out of the recycle bin; unchanged when it was not there."""
        guard = {"status.isSoftDeleted": True, "status.isHardDeleted": {"$ne": True}}
        update = {"$set": {"status.isSoftDeleted": False, **_changed(actor, now)}, "$unset": {"status.softDeleted": ""}}
        return await self._change_if(instance_id, guard, update, "Undeleted", actor, now)

    async def confirm_complete(self, instance_id: str, org: str, actor: Actor, now: datetime) -> Change | None:
        """Records the org's complete confirmation; unchanged when it had confirmed already."""
        await self._repair_null_containers(instance_id)
        guard = {"completeConfirmations.stakeholderId": {"$ne": org}}
        update = {
            "$push": {"completeConfirmations": {"stakeholderId": org, "confirmedOn": now}},
            "$set": _changed(actor, now),
        }
        return await self._change_if(instance_id, guard, update, "ConfirmedComplete", actor, now)

    async def set_read_status(self, instance_id: str, read_status: str, actor: Actor, now: datetime) -> Change | None:
        """Sets status.readStatus (not lastChanged: reading is no change); unchanged when it already was so."""
        await self._repair_null_containers(instance_id)
        guard = {"status.readStatus": {"$ne": read_status}}
        if read_status == "Unread":
            # An absent readStatus reads as Unread: setting Unread there changes nothing.
            guard = {"status.readStatus": {"$nin": [read_status, None]}}
        update = {"$set": {"status.readStatus": read_status}}
        return await self._change_if(instance_id, guard, update, "MessageRead", actor, now)

    async def events_of(self, instance_ids: list[str]) -> dict[str, list[Document]]:
        """The audit trail of each instance, oldest first."""
        with driver_errors():
            cursor = self._events.find({"instanceId": {"$in": instance_ids}}, _NO_ID).sort([("created", 1), ("_id", 1)])
            events = await to_list(cursor)
        trail: dict[str, list[Document]] = {i: [] for i in instance_ids}
        for event in events:
            trail[event["instanceId"]].append(event)
        return trail

    async def _repair_null_containers(self, instance_id: str) -> None:
        # Old documents may hold `status: null` or `completeConfirmations: null`; MongoDB
        # cannot set a field inside null or push onto it. Replacing null with an empty
        # container changes nothing a reader sees, so it is safe to do first. Only a stored
        # null: a missing field needs no repair, and an update would be a change to subscribers.
        null = {"$exists": True, "$eq": None}
        with driver_errors():
            await self._instances.update_one({"id": instance_id, "status": null}, {"$set": {"status": {}}})
            await self._instances.update_one(
                {"id": instance_id, "completeConfirmations": null}, {"$set": {"completeConfirmations": []}}
            )

    async def _change_if(
        self, instance_id: str, guard: Document, update: Document, event_type: str, actor: Actor, now: datetime
    ) -> Change | None:
        changed = await self._apply_if(instance_id, guard, update, event_type, actor, now)
        return await self._outcome(instance_id, changed)

    async def _apply_if(
        self, instance_id: str, guard: Document, update: Document, event_type: str, actor: Actor, now: datetime
    ) -> Document | None:
        """Apply the update and record its event if the guard holds; the changed document."""
        event = _event(event_type, instance_id, actor, now)
        update = {**update, "$push": {**update.get("$push", {}), PENDING_EVENTS: event}}
        changed = await self._database.update_and_read(
            self._instances, {"id": instance_id, **guard}, update, _AS_STORED
        )
        if changed is not None:
            await self._record(changed, event)
        return changed

    async def _outcome(self, instance_id: str, changed: Document | None) -> Change | None:
        """What a guarded change did: the changed document, or, when the guard held it back,
        the document as it is now; None when there is no such instance."""
        if changed is not None:
            return Change(changed, changed=True)
        with driver_errors():
            current = await self._instances.find_one({"id": instance_id}, _AS_STORED)
        return None if current is None else Change(current, changed=False)

    async def flush_pending_events(self) -> int:
        """Record the events of changes whose recording was interrupted; how many there were."""
        with driver_errors():
            stuck = await to_list(self._instances.find({f"{PENDING_EVENTS}.id": {"$exists": True}}, _NO_ID))
        for instance in stuck:
            for event in instance.get(PENDING_EVENTS) or []:
                await self._record(instance, event)
        return sum(len(i.get(PENDING_EVENTS) or []) for i in stuck)

    async def _record(self, instance: Document, event: Document) -> None:
        # Idempotent by event id, so a retry after a crash never records an event twice.
        recorded = {**event, "processInfo": instance.get("process")}
        with driver_errors():
            await self._events.replace_one({"id": event["id"]}, recorded, upsert=True)
            await self._instances.update_one({"id": instance["id"]}, {"$pull": {PENDING_EVENTS: {"id": event["id"]}}})
            await self._instances.update_one(
                {"id": instance["id"], PENDING_EVENTS: {"$size": 0}}, {"$unset": {PENDING_EVENTS: ""}}
            )
        await self._database.announce(instance["id"])


def _changed(actor: Actor, now: datetime) -> Document:
    return {"lastChanged": now, "lastChangedBy": actor.changed_by}


def _event(event_type: str, instance_id: str, actor: Actor, now: datetime) -> Document:
    user = {"userId": actor.user_id, "orgId": actor.org, "authenticationLevel": actor.authentication_level}
    return {
        "id": str(uuid.uuid4()),
        "instanceId": instance_id,
        "created": now,
        "eventType": event_type,
        "instanceOwnerPartyId": instance_id.partition("/")[0],
        "user": {k: v for k, v in user.items() if v is not None},
    }
