"""The changes a caller can make, each decided by authorization before the store applies it.

No GraphQL here: resolvers call these and turn the documents they return into types.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.authorization.access import Access
from app.authorization.policy import PolicyError
from app.errors import BadUserInput, Forbidden, GatewayError, NotFound
from app.store.changes import Actor, Change, InstanceChanges
from app.store.instances import InstanceStore
from app.timestamps import parse_timestamp

Document = dict[str, Any]
MAX_BULK_DELETE = 1000


@dataclass
class BulkDeletion:
    matched: int
    dry_run: bool
    instance_ids: list[str]
    deleted: int = 0  # changed by this call
    unchanged_ids: list[str] = field(default_factory=list)  # already as asked: nothing to do
    failed: list[tuple[str, GatewayError]] = field(default_factory=list)


class InstanceActions:
    def __init__(self, access: Access, store: InstanceStore, changes: InstanceChanges, now: datetime) -> None:
        self._access = access
        self._store = store
        self._changes = changes
        self._now = now
        caller = access.caller
        self._actor = Actor(
            changed_by=caller.actor_id,
            user_id=caller.user_id,
            org=caller.org,
            authentication_level=caller.auth_level,
            system_user_id=caller.system_user_id,
            system_user_owner_org_no=caller.system_user_org_number,
        )

    async def set_substatus(self, instance_id: str, substatus: Mapping[str, Any] | None) -> Document:
        instance = await self._target(instance_id)
        self._access.check_owning_org(instance)
        if substatus is not None and not str(substatus.get("label") or "").strip():
            raise BadUserInput("a substatus needs a non-empty label (or pass substatus: null to clear it)")
        stored = None if substatus is None else {k: v for k, v in substatus.items() if v is not None}
        change = await self._changes.set_substatus(instance, stored, self._actor)
        return _existing(change, instance_id).document

    async def delete(self, instance_id: str, *, hard: bool, app_id: str | None = None) -> Document:
        """Delete the instance; with `app_id`, only an instance of that app (an app's own path)."""
        instance = await self._target(instance_id)
        if app_id is not None and instance.get("appId") != app_id:
            raise NotFound(f"{app_id} has no instance {instance_id}")
        return (await self._delete(instance, hard=hard)).document

    async def restore(self, instance_id: str) -> Document:
        instance = await self._target(instance_id)
        self._access.check("delete", instance, doing="restore")
        if (instance.get("status") or {}).get("isHardDeleted") is True:
            raise NotFound("Instance was permanently deleted and cannot be restored.")
        change = await self._changes.restore(instance, self._actor)
        return _existing(change, instance_id).document

    async def confirm_complete(self, instance_id: str) -> Document:
        instance = await self._target(instance_id)
        if not self._access.caller.is_service_owner:
            raise Forbidden("only a service owner confirms an instance complete")
        self._access.check("complete", instance)
        org = self._access.caller.org or ""
        change = await self._changes.confirm_complete(instance, org, self._actor)
        return _existing(change, instance_id).document

    async def set_read_status(self, instance_id: str, read_status: str) -> Document:
        instance = await self._target(instance_id)
        self._access.check("read", instance)
        change = await self._changes.set_read_status(instance, read_status, self._actor)
        return _existing(change, instance_id).document

    async def delete_many(
        self, instance_filter: Mapping[str, Any], *, hard: bool, dry_run: bool, limit: int
    ) -> BulkDeletion:
        """Delete what the filter matches (what the caller can see), one instance at a time;
        each failure is listed, none stops the others, and no instance is half-changed. Only
        the instances this call changed count as deleted; those already deleted are unchanged."""
        self._access.check_listing()  # what the filter matches is a list
        if not 1 <= limit <= MAX_BULK_DELETE:
            raise BadUserInput(f"`limit` must be between 1 and {MAX_BULK_DELETE}, got {limit}")
        restriction = self._access.read_restriction(self._now)
        matched = await self._store.count(instance_filter=instance_filter, restriction=restriction)
        page = await self._store.find_page(
            instance_filter=instance_filter, restriction=restriction, order=None, first=limit, after=None, fields=None
        )
        result = BulkDeletion(matched=matched, dry_run=dry_run, instance_ids=[d["id"] for d in page.documents])
        if dry_run:
            return result
        for instance in page.documents:
            try:
                change = await self._delete(instance, hard=hard)
            except GatewayError as error:
                result.failed.append((instance["id"], error))
                continue
            if change.changed:
                result.deleted += 1
            else:
                result.unchanged_ids.append(instance["id"])
        return result

    async def _delete(self, instance: Document, *, hard: bool) -> Change:
        self._access.check("delete", instance)
        self._check_deletion_allowed_yet(instance)
        delete = self._changes.hard_delete if hard else self._changes.soft_delete
        return _existing(await delete(instance, self._actor), instance["id"])

    def _check_deletion_allowed_yet(self, instance: Document) -> None:
        app_id = str(instance.get("appId"))
        try:
            days = self._access.policies.metadata(app_id).prevent_instance_deletion_for_days
        except PolicyError as error:
            raise Forbidden(f"denied: the metadata of {app_id} cannot be used ({error})") from None
        status = instance.get("status") or {}
        archived = status.get("archived") if status.get("isArchived") is True else None
        if days and archived is not None and parse_timestamp(archived) + timedelta(days=days) > self._now:
            raise Forbidden("Instance cannot be deleted yet due to application restrictions.")

    async def _target(self, instance_id: str) -> Document:
        """The instance, if the caller may see it (no scope is asked for a change, as in Altinn)."""
        instance = await self._store.get(instance_id, restriction=self._access.read_restriction(self._now), fields=None)
        if instance is None:
            raise NotFound(f"no instance {instance_id} (or the caller may not see it)")
        return instance


def _existing(change: Change | None, instance_id: str) -> Change:
    """A change of an instance that still exists; NOT_FOUND when it went away meanwhile."""
    if change is None:
        raise NotFound(f"instance {instance_id} no longer exists")
    return change
