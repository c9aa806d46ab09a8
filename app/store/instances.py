"""Reading instances: pages, counts and single documents, each in one database query."""

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from app.enums import InstanceGroupKey
from app.store.commands import note
from app.store.cursors import CursorCodec, query_fingerprint
from app.store.database import Database, driver_errors
from app.store.filters import Query, all_of, compile_instance_filter, compile_read_query
from app.store.groups import Group, group_pipeline, read_groups
from app.store.ordering import (
    TIE_BREAK,
    SortKey,
    after_position,
    normalize_order,
    position_of,
    sort_specification,
)

Document = dict[str, Any]

# Top-level fields a projection may name: the model's fields, nothing a caller invents.
DOCUMENT_FIELDS = frozenset(
    {
        "id", "instanceOwner", "appId", "org", "selfLinks", "dueBefore", "visibleAfter",
        "process", "status", "completeConfirmations", "data", "presentationTexts",
        "dataValues", "created", "createdBy", "lastChanged", "lastChangedBy",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Page:
    documents: list[Document]
    cursors: list[str]
    has_next_page: bool


class PageStream:
    """One page, taken document by document as the database sends them: `batches()` gives the
    documents, `cursor_of` signs the cursor of one (only for those a reader wants), and once
    they are all taken `has_next_page` and `end_cursor` are known. A reader that keeps only what
    it makes of each document never holds the page."""

    def __init__(
        self,
        batches: AsyncIterator[Iterable[Document]] | None,
        first: int,
        cursor_of: Callable[[Document], str],
        *,
        has_next_page: bool = False,
    ) -> None:
        self.has_next_page = has_next_page
        self.cursor_of = cursor_of
        self._batches = batches
        self._first = first
        self._taken = 0
        self._last: Document | None = None

    @property
    def end_cursor(self) -> str | None:
        return None if self._last is None else self.cursor_of(self._last)

    async def batches(self) -> AsyncIterator[Iterator[Document]]:
        """Each batch's documents; take them all before asking for the next batch."""
        if self._batches is None:
            return
        async with contextlib.aclosing(self._batches) as batches:
            async for documents in batches:
                yield self._take(documents)
                if self.has_next_page:
                    return

    def _take(self, documents: Iterable[Document]) -> Iterator[Document]:
        for document in documents:
            if self._taken == self._first:  # the one more than asked for: there is a next page
                self.has_next_page = True
                return
            self._taken += 1
            self._last = document
            yield document


class InstanceStore:
    def __init__(self, database: Database, cursor_codec: CursorCodec) -> None:
        self._database = database
        self._instances = database.instances
        self._cursors = cursor_codec

    async def find_page(self, **read: Any) -> Page:
        """The page of `stream_page` (the same arguments), taken whole."""
        stream = await self.stream_page(**read)
        documents: list[Document] = []
        cursors: list[str] = []
        async with contextlib.aclosing(stream.batches()) as batches:
            async for batch in batches:
                for document in batch:
                    cursors.append(stream.cursor_of(document))
                    documents.append(document)
        return Page(documents=documents, cursors=cursors, has_next_page=stream.has_next_page)

    async def stream_page(
        self,
        *,
        instance_filter: Mapping[str, Any] | None,
        restriction: Mapping[str, Any] | None,
        order: Sequence[SortKey] | None,
        first: int,
        after: str | None,
        fields: Collection[str] | None,
    ) -> PageStream:
        """One page in keyset order, to be taken document by document; `fields` limits what is
        fetched (None: everything)."""
        keys = normalize_order(order)
        fingerprint = query_fingerprint(instance_filter, keys)
        query = compile_read_query(instance_filter, restriction)
        if after is not None:
            values, last_id = self._cursors.decode(after, fingerprint, len(keys))
            query = all_of(query, after_position(keys, values, last_id))

        def cursor_of(document: Document) -> str:
            return self._cursors.encode(fingerprint, position_of(keys, document), document[TIE_BREAK])

        if first == 0:
            return PageStream(None, 0, cursor_of, has_next_page=await self._exists(query))
        projection = _projection(fields, extra=[k.field for k in keys])
        batches = self._database.find_batches(
            self._instances, query, projection, sort_specification(keys), limit=first + 1
        )
        return PageStream(batches, first, cursor_of)

    async def count(self, *, instance_filter: Mapping[str, Any] | None, restriction: Mapping[str, Any] | None) -> int:
        query = compile_read_query(instance_filter, restriction)
        note(self._database, self._instances, "aggregate", pipeline=[{"$match": query}, *_COUNT_STAGES])
        with driver_errors(callers_filter=True):
            return await self._instances.count_documents(query)

    async def count_groups(
        self,
        *,
        instance_filter: Mapping[str, Any] | None,
        restriction: Mapping[str, Any] | None,
        by: Sequence[InstanceGroupKey],
        max_groups: int,
    ) -> list[Group]:
        """How many instances of those a read of this filter finds have each combination of
        the keys' values (see app/store/groups.py)."""
        embedded = self._database.embedded
        pipeline = group_pipeline(compile_read_query(instance_filter, restriction), by, max_groups, embedded=embedded)
        stored = await self._database.aggregate(self._instances, pipeline, callers_filter=True)
        return read_groups(stored, by, max_groups, embedded=embedded)

    async def get(
        self,
        instance_id: str,
        *,
        restriction: Mapping[str, Any] | None,
        fields: Collection[str] | None,
    ) -> Document | None:
        """The instance with this id if the restriction lets the caller see it."""
        query, projection = _by_id(instance_id, restriction), _projection(fields)
        note(self._database, self._instances, "find", filter=query, projection=projection, limit=1)
        with driver_errors():
            return await self._instances.find_one(query, projection)

    async def get_with_trail(
        self,
        instance_id: str,
        *,
        restriction: Mapping[str, Any] | None,
        fields: Collection[str] | None,
    ) -> tuple[Document | None, list[Document] | None]:
        """The instance of `get` and its audit trail (oldest first) in one query, for a caller
        who may read both: one round trip instead of two. The trail is None when it cannot be
        ordered here as MongoDB orders it (a `created` that is not a date-time, or an `_id`
        that is not an ObjectId): read it as InstanceChanges.events_of does."""
        pipeline = [
            {"$match": _by_id(instance_id, restriction)},
            {"$limit": 1},
            {"$project": _projection(fields)},
            {"$lookup": {"from": self._database.instance_events.name, "localField": "id", **_TRAIL}},
        ]
        found = await self._database.aggregate(self._instances, pipeline)
        if not found:
            return None, []
        document = found[0]
        return document, _ordered_trail(document.pop(_TRAIL["as"]))

    async def _exists(self, query: Query) -> bool:
        note(self._database, self._instances, "find", filter=query, projection=_ID_ONLY, limit=1)
        with driver_errors():
            return await self._instances.find_one(query, _ID_ONLY) is not None


_ID_ONLY = {"_id": 0, "id": 1}

# What PyMongo's count_documents adds to the query's `$match`.
_COUNT_STAGES = ({"$group": {"_id": 1, "n": {"$sum": 1}}},)


def _by_id(instance_id: str, restriction: Mapping[str, Any] | None) -> Query:
    query: Query = {"id": instance_id}
    return query if restriction is None else all_of(query, compile_instance_filter(restriction))


# Where the audit trail goes in the joined document: a name no stored field has.
_TRAIL = {"foreignField": "instanceId", "as": "__auditTrail"}


def _ordered_trail(events: list[Document]) -> list[Document] | None:
    """The events as events_of gives them, by `created` then `_id`, without `_id`; None
    unless every one of them is ordered alike here and in MongoDB."""
    if not all(e.get("created").__class__ is datetime and e.get("_id").__class__ is ObjectId for e in events):
        return None
    events.sort(key=lambda e: (e["created"], e["_id"]))
    for event in events:
        del event["_id"]
    return events


def _projection(fields: Collection[str] | None, extra: Sequence[str] = ()) -> dict[str, int]:
    if fields is None:
        return {"_id": 0}
    selected = {f for f in fields if f in DOCUMENT_FIELDS} | {TIE_BREAK, *extra}
    return {"_id": 0, **dict.fromkeys(sorted(selected), 1)}
