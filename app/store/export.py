"""Reading stored documents whole and as they are, for the export: the instances of a filter,
hard-deleted ones included, and the audit events of those instances, a batch at a time."""

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from app.store.database import Database, driver_errors
from app.store.documents import Document
from app.store.filters import compile_instance_filter

# `_id` is each database's own handle; an instance is known by its `id` everywhere else.
_WHOLE = {"_id": 0}


class Export:
    """One run of the export, of the instances that meet `instance_filter` (None: all)."""

    def __init__(self, database: Database, instance_filter: Mapping[str, Any] | None) -> None:
        self._database = database
        self._query = compile_instance_filter(instance_filter)

    async def count(self) -> int:
        with driver_errors(callers_filter=True):
            return await self._database.instances.count_documents(self._query)

    def instances(self) -> AsyncIterator[Iterable[Document]]:
        """The instances, in id order, so that two exports of the same data are the same file;
        each batch stays BSON until its documents are taken one by one."""
        return self._database.find_batches(self._database.instances, self._query, _WHOLE, [("id", 1)], 0)

    def events(self, instance_ids: Sequence[str]) -> AsyncIterator[Iterable[Document]]:
        """The audit events of these instances, each instance's in the order they happened."""
        return self._database.find_batches(
            self._database.instance_events,
            {"instanceId": {"$in": list(instance_ids)}},
            _WHOLE,
            [("instanceId", 1), ("created", 1)],
            0,
        )
