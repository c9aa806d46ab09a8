"""Reading instances: pages, counts and single documents, each in one database query."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
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
    reversed_order,
    sort_specification,
)
from app.store.shard_key import instance_key

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
    has_previous_page: bool = False


# Whether a document lies beyond a page: a query of one document, made only when it is asked.
Probe = Callable[[], Awaitable[bool]]


class PageStream:
    """One page, taken document by document as the database sends them: `batches()` gives the
    documents, `cursor_of` signs the cursor of one (only for those a reader wants), and once
    they are all taken `has_next_page`, `has_previous_page` and the start and end cursors are
    known. A reader that keeps only what it makes of each document never holds the page. A
    backward page (`last`) is read in the reversed order and turned around in memory: it holds
    at most `last` documents.

    Read in its direction, a page ends with more after it when the read found one more than
    `limit`; otherwise only `beyond_end` can tell (documents past the other cursor). Before it
    come documents only if it starts at a cursor, which `before_start` probes."""

    def __init__(
        self,
        batches: AsyncIterator[Iterable[Document]],
        limit: int,
        cursor_of: Callable[[Document], str],
        *,
        backward: bool = False,
        beyond_end: Probe | None = None,
        before_start: Probe | None = None,
    ) -> None:
        self.has_next_page = False
        self.has_previous_page = False
        self.cursor_of = cursor_of
        self._batches = batches
        self._limit = limit
        self._backward = backward
        self._beyond_end = beyond_end
        self._before_start = before_start
        self._more = False  # the read found one more than the limit
        self._taken = 0
        self._first: Document | None = None  # taken, in the order read
        self._last: Document | None = None

    @property
    def start_cursor(self) -> str | None:
        return self._cursor(self._last if self._backward else self._first)

    @property
    def end_cursor(self) -> str | None:
        return self._cursor(self._first if self._backward else self._last)

    def _cursor(self, document: Document | None) -> str | None:
        return None if document is None else self.cursor_of(document)

    async def batches(self) -> AsyncIterator[Iterator[Document]]:
        """Each batch's documents; take them all before asking for the next batch."""
        async with contextlib.aclosing(self._batches) as batches:
            if self._backward:
                yield reversed([d async for documents in batches for d in self._take(documents)])
            else:
                async for documents in batches:
                    yield self._take(documents)
                    if self._more:
                        break
        ahead = self._more or (self._beyond_end is not None and await self._beyond_end())
        behind = self._before_start is not None and await self._before_start()
        self.has_next_page, self.has_previous_page = (behind, ahead) if self._backward else (ahead, behind)

    def _take(self, documents: Iterable[Document]) -> Iterator[Document]:
        for document in documents:
            if self._taken == self._limit:  # the one more than asked for
                self._more = True
                return
            self._taken += 1
            if self._first is None:
                self._first = document
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
        return Page(documents, cursors, stream.has_next_page, stream.has_previous_page)

    async def stream_page(
        self,
        *,
        instance_filter: Mapping[str, Any] | None,
        restriction: Mapping[str, Any] | None,
        order: Sequence[SortKey] | None,
        first: int | None = None,
        after: str | None,
        last: int | None = None,
        before: str | None = None,
        fields: Collection[str] | None,
        check_next_page: bool = False,
        check_previous_page: bool = False,
    ) -> PageStream:
        """One page in keyset order, to be taken document by document: the `first` documents
        after the cursor `after`, or the `last` before the cursor `before`, within both cursors
        when both are given; `fields` limits what is fetched (None: everything).

        The page tells whether more follow it in the direction it is read. Whether any come
        before a forward page's `after` (its previous page) or after a backward page's
        `before` (its next), or past the other cursor when both are given, takes a query of
        one document, made only when asked by `check_previous_page`/`check_next_page`: a flag
        not asked for is False there."""
        keys = normalize_order(order)
        fingerprint = query_fingerprint(instance_filter, keys)
        query = compile_read_query(instance_filter, restriction)
        after_at = None if after is None else self._cursors.decode(after, fingerprint, len(keys), "after")
        before_at = None if before is None else self._cursors.decode(before, fingerprint, len(keys), "before")
        backward = last is not None
        read_order = reversed_order(keys) if backward else keys
        limit = last if backward else first
        if limit is None:
            raise ValueError("a page needs `first` or `last`")
        start, end = (before_at, after_at) if backward else (after_at, before_at)
        check_ahead, check_behind = (
            (check_previous_page, check_next_page) if backward else (check_next_page, check_previous_page)
        )
        window = query
        if start is not None:
            window = all_of(window, after_position(read_order, *start))
        if end is not None:
            window = all_of(window, after_position(reversed_order(read_order), *end))

        def cursor_of(document: Document) -> str:
            return self._cursors.encode(fingerprint, position_of(keys, document), document[TIE_BREAK])

        # A page of none is read as one of the id alone: whether one more follows.
        projection = _projection(fields if limit else (), extra=[k.field for k in keys])
        batches = self._database.find_batches(
            self._instances, window, projection, sort_specification(read_order), limit=limit + 1
        )
        return PageStream(
            batches,
            limit,
            cursor_of,
            backward=backward,
            beyond_end=self._probe(query, read_order, end) if check_ahead else None,
            before_start=self._probe(query, reversed_order(read_order), start) if check_behind else None,
        )

    def _probe(self, query: Query, order: Sequence[SortKey], at: tuple[list[Any], str] | None) -> Probe | None:
        """Whether a document of the query lies at the cursor position `at` or past it in this
        order; None without a cursor, where the page itself tells."""
        if at is None:
            return None
        beyond = all_of(query, after_position(order, *at, inclusive=True))
        return lambda: self._exists(beyond)

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
    query: Query = instance_key(instance_id)
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
