"""Changing instances: each change is one atomic update of one document, guarded so that a
repeat or a concurrent change is detected instead of overwritten, and each change that
happens is recorded as an InstanceEvent.

Update operators touch only the fields a change is about, so concurrent changes of other
fields (a delete racing a substatus update) both land.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store.database import Database, driver_errors, to_list

Document = dict[str, Any]
_NO_ID = {"_id": 0}


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
    ) -> Document:
        await self._repair_null_containers(instance_id)
        update: Document = {"$set": _changed(actor, now)}
        if substatus is None:
            update["$unset"] = {"status.substatus": ""}
        else:
            update["$set"]["status.substatus"] = substatus
        return await self._change(instance_id, {}, update, "SubstatusUpdated", actor, now)

    async def soft_delete(self, instance_id: str, actor: Actor, now: datetime) -> Document | None:
        """Moves the instance to the recycle bin; None when it already was there."""
        await self._repair_null_containers(instance_id)
        changes = {"status.isSoftDeleted": True, "status.softDeleted": now, **_changed(actor, now)}
        guard = {"status.isSoftDeleted": {"$ne": True}, "status.isHardDeleted": {"$ne": True}}
        return await self._change_if(instance_id, guard, {"$set": changes}, "Deleted", actor, now)

    async def hard_delete(self, instance_id: str, actor: Actor, now: datetime) -> Document | None:
        """Makes the instance unrecoverable; None when it already was."""
        await self._repair_null_containers(instance_id)
        changes = {"status.isHardDeleted": True, "status.hardDeleted": now, "status.isSoftDeleted": True}
        changes |= _changed(actor, now)
        not_hard_deleted = {"status.isHardDeleted": {"$ne": True}}
        # softDeleted keeps the time it first went to the recycle bin; one of these two
        # guarded updates applies, whichever matches the document as it is now.
        first_delete = {"$set": {**changes, "status.softDeleted": now}}
        deleted = await self._change_if(
            instance_id, {**not_hard_deleted, "status.softDeleted": None}, first_delete, "Deleted", actor, now
        )
        if deleted is None:
            guard = {**not_hard_deleted, "status.softDeleted": {"$ne": None}}
            deleted = await self._change_if(instance_id, guard, {"$set": changes}, "Deleted", actor, now)
        return deleted

    async def restore(self, instance_id: str, actor: Actor, now: datetime) -> Document | None:
        """Takes a soft-deleted instance out of the recycle bin; None when it was not there."""
        guard = {"status.isSoftDeleted": True, "status.isHardDeleted": {"$ne": True}}
        update = {"$set": {"status.isSoftDeleted": False, **_changed(actor, now)}, "$unset": {"status.softDeleted": ""}}
        return await self._change_if(instance_id, guard, update, "Undeleted", actor, now)

    async def confirm_complete(self, instance_id: str, org: str, actor: Actor, now: datetime) -> Document | None:
        """Records the org's complete confirmation; None when it had confirmed already."""
        await self._repair_null_containers(instance_id)
        guard = {"completeConfirmations.stakeholderId": {"$ne": org}}
        update = {
            "$push": {"completeConfirmations": {"stakeholderId": org, "confirmedOn": now}},
            "$set": _changed(actor, now),
        }
        return await self._change_if(instance_id, guard, update, "ConfirmedComplete", actor, now)

    async def set_read_status(self, instance_id: str, read_status: str, actor: Actor, now: datetime) -> Document | None:
        """Sets status.readStatus (not lastChanged: reading is no change); None when unchanged."""
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
        # container changes nothing a reader sees, so it is safe to do first.
        with driver_errors():
            await self._instances.update_one({"id": instance_id, "status": None}, {"$set": {"status": {}}})
            await self._instances.update_one(
                {"id": instance_id, "completeConfirmations": None}, {"$set": {"completeConfirmations": []}}
            )

    async def _change(
        self, instance_id: str, guard: Document, update: Document, event_type: str, actor: Actor, now: datetime
    ) -> Document:
        changed = await self._change_if(instance_id, guard, update, event_type, actor, now)
        if changed is None:
            raise LookupError(instance_id)
        return changed

    async def _change_if(
        self, instance_id: str, guard: Document, update: Document, event_type: str, actor: Actor, now: datetime
    ) -> Document | None:
        changed = await self._database.update_and_read(self._instances, {"id": instance_id, **guard}, update, _NO_ID)
        if changed is not None:
            with driver_errors():
                await self._events.insert_one(_event(event_type, changed, actor, now))
        return changed


def _changed(actor: Actor, now: datetime) -> Document:
    return {"lastChanged": now, "lastChangedBy": actor.changed_by}


def _event(event_type: str, instance: Document, actor: Actor, now: datetime) -> Document:
    user = {"userId": actor.user_id, "orgId": actor.org, "authenticationLevel": actor.authentication_level}
    return {
        "id": str(uuid.uuid4()),
        "instanceId": instance["id"],
        "created": now,
        "eventType": event_type,
        "instanceOwnerPartyId": instance.get("instanceOwner", {}).get("partyId"),
        "user": {k: v for k, v in user.items() if v is not None},
        "processInfo": instance.get("process"),
    }
