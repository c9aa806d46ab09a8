"""Reading instances: pages, counts and single documents, each in one database query."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.store.cursors import CursorCodec, query_fingerprint
from app.store.database import Database, driver_errors, to_list
from app.store.filters import Query, all_of, compile_instance_filter, compile_read_query
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


class InstanceStore:
    def __init__(self, database: Database, cursor_codec: CursorCodec) -> None:
        self._instances = database.instances
        self._cursors = cursor_codec

    async def find_page(
        self,
        *,
        instance_filter: Mapping[str, Any] | None,
        restriction: Mapping[str, Any] | None,
        order: Sequence[SortKey] | None,
        first: int,
        after: str | None,
        fields: Collection[str] | None,
    ) -> Page:
        """One page in keyset order; `fields` limits what is fetched (None: everything)."""
        keys = normalize_order(order)
        fingerprint = query_fingerprint(instance_filter, keys)
        query = compile_read_query(instance_filter, restriction)
        if after is not None:
            values, last_id = self._cursors.decode(after, fingerprint, len(keys))
            query = all_of(query, after_position(keys, values, last_id))
        if first == 0:
            return Page(documents=[], cursors=[], has_next_page=await self._exists(query))
        projection = _projection(fields, extra=[k.field for k in keys])
        with driver_errors():
            cursor = self._instances.find(query, projection).sort(sort_specification(keys))
            documents = await to_list(cursor.limit(first + 1))
        page = documents[:first]
        cursors = [self._cursors.encode(fingerprint, position_of(keys, d), d[TIE_BREAK]) for d in page]
        return Page(documents=page, cursors=cursors, has_next_page=len(documents) > first)

    async def count(self, *, instance_filter: Mapping[str, Any] | None, restriction: Mapping[str, Any] | None) -> int:
        with driver_errors():
            return await self._instances.count_documents(compile_read_query(instance_filter, restriction))

    async def get(
        self,
        instance_id: str,
        *,
        restriction: Mapping[str, Any] | None,
        fields: Collection[str] | None,
    ) -> Document | None:
        """The instance with this id if the restriction lets the caller see it."""
        query: Query = {"id": instance_id}
        if restriction is not None:
            query = all_of(query, compile_instance_filter(restriction))
        with driver_errors():
            return await self._instances.find_one(query, _projection(fields))

    async def _exists(self, query: Query) -> bool:
        with driver_errors():
            return await self._instances.find_one(query, {"_id": 0, "id": 1}) is not None


def _projection(fields: Collection[str] | None, extra: Sequence[str] = ()) -> dict[str, int]:
    if fields is None:
        return {"_id": 0}
    selected = {f for f in fields if f in DOCUMENT_FIELDS} | {TIE_BREAK, *extra}
    return {"_id": 0, **dict.fromkeys(sorted(selected), 1)}
