"""Physically removing hard-deleted instances, and their audit trails, once Altinn's
retention rule lets them go: unarchived ones at once; archived ones once hard-deleted for
RETENTION and confirmed complete by their app owner (the instance's org) for RETENTION.
"""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from app.store.changes import PENDING_EVENTS
from app.store.database import Database, driver_errors, to_list
from app.store.filters import Query, all_of, compile_instance_filter
from app.store.shard_key import instance_key

RETENTION = timedelta(days=7)
BATCH_SIZE = 500


def purgeable(org: str, now: datetime) -> dict[str, Any]:
    """The rule for one org's instances, as an InstanceFilter."""
    settled = now - RETENTION
    return {
        "org": {"eq": org},
        "status": {"isHardDeleted": True},
        "or": [
            {"status": {"isArchived": False}},
            {
                "status": {"hardDeleted": {"lte": settled}},
                "completeConfirmation": {"stakeholderId": {"eq": org}, "confirmedOn": {"lte": settled}},
            },
        ],
    }


class Purge:
    """One run of the purge, judging every instance as of `now`."""

    def __init__(self, database: Database, now: datetime) -> None:
        self._instances = database.instances
        self._events = database.instance_events
        self._now = now
        self._query: Query | None = None

    async def count(self) -> int:
        with driver_errors():
            return await self._instances.count_documents(await self._selection())

    async def batches(self) -> AsyncIterator[list[str]]:
        """The ids of the instances to purge, in id order, a batch at a time. Each batch
        starts after the last id of the one before, so instances that a caller removes from
        under the run, or that stay, are never read twice."""
        query = await self._selection()
        last_id: str | None = None
        while True:
            page = query if last_id is None else all_of(query, {"id": {"$gt": last_id}})
            with driver_errors():
                cursor = self._instances.find(page, {"_id": 0, "id": 1}).sort("id", 1).limit(BATCH_SIZE)
                ids = [d["id"] for d in await to_list(cursor)]
            if not ids:
                return
            yield ids
            last_id = ids[-1]

    async def remove(self, instance_id: str) -> int | None:
        """Remove the instance and its events; how many events went, or None when it stays
        because a change to it is being recorded (the next run takes it: an instance that
        qualifies always will).

        The events go first, so that a crash never leaves the events of a removed instance:
        the instance still qualifies, and the next run finishes the job. They are removed
        again after the instance, for an event that a change recorded in between."""
        with driver_errors():
            events = (await self._events.delete_many({"instanceId": instance_id})).deleted_count
            still_purgeable = all_of(
                instance_key(instance_id), await self._selection(), {f"{PENDING_EVENTS}.id": {"$exists": False}}
            )
            if (await self._instances.delete_one(still_purgeable)).deleted_count == 0:
                return None
            return events + (await self._events.delete_many({"instanceId": instance_id})).deleted_count

    async def _selection(self) -> Query:
        # The rule compares a confirmation's stakeholder with the instance's own org, which a
        # query can only do for a given org: one alternative for each org that has
        # hard-deleted instances, in one query, so the collection is read once.
        if self._query is None:
            with driver_errors():
                orgs = await self._instances.distinct(
                    "org", compile_instance_filter({"status": {"isHardDeleted": True}})
                )
            # Loading gives every instance its org (from appId); a document written otherwise
            # without one is left alone rather than judged by a rule without an org.
            named = sorted(org for org in orgs if isinstance(org, str) and org)
            self._query = compile_instance_filter({"or": [purgeable(org, self._now) for org in named]})
        return self._query
