"""Sort orders and keyset conditions: each page starts strictly after the previous one's
last document, so pages never skip or repeat a document, however many share a timestamp.

MongoDB sorts a null or missing value before every date, so ascending orders put them
first and descending orders last; the keyset conditions below follow that rule. Stored
documents may hold another type where a date belongs (a text, a number, an object): MongoDB
sorts each type as a block (numbers, texts, objects, ... booleans, dates), while `$lt` and
`$gt` compare a value with those of its own type alone, so the conditions find the blocks
that follow by their `$type`. An array sorts by one of its elements, which no condition can
follow, and MongoDB's rarer types have no `$type` that the embedded store reads: pages over
those may skip or repeat them. The id breaks ties, in the direction of the last key. A
backward page is read in the reversed order, with the same conditions: the same index serves
it, walked the other way.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import Decimal128, ObjectId

from app.store.filters import Query

SORT_FIELDS = ("lastChanged", "created", "dueBefore", "visibleAfter")
TIE_BREAK = "id"


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = True


DEFAULT_ORDER = (SortKey("lastChanged", descending=True),)


def normalize_order(order: Sequence[SortKey] | None) -> tuple[SortKey, ...]:
    """The keys in effect: the default when none are given, each field once, and the
    allow-listed fields only."""
    keys: list[SortKey] = []
    for key in order or DEFAULT_ORDER:
        if key.field not in SORT_FIELDS:
            raise ValueError(f"not a sortable field: {key.field!r}")
        if all(k.field != key.field for k in keys):
            keys.append(key)
    return tuple(keys)


def tie_break_descending(order: Sequence[SortKey]) -> bool:
    """The id breaks ties in the direction of the last key, so that one index on (field, id)
    serves a field's order both ways: MongoDB walks an index forwards or backwards, but not
    one key each way."""
    return order[-1].descending


def reversed_order(order: Sequence[SortKey]) -> tuple[SortKey, ...]:
    """The order backwards: each key, and so the tie break, in the other direction."""
    return tuple(SortKey(k.field, descending=not k.descending) for k in order)


def sort_specification(order: Sequence[SortKey]) -> list[tuple[str, int]]:
    tie_break = -1 if tie_break_descending(order) else 1
    return [(k.field, -1 if k.descending else 1) for k in order] + [(TIE_BREAK, tie_break)]


# The types a sort field may hold, in MongoDB's order, by their `$type` aliases (null aside).
_TYPES = ("number", "string", "object", "binData", "objectId", "bool", "date")


def _type_of(value: Any) -> str | None:
    """The `$type` of a value among _TYPES; None for another."""
    for alias, kind in (
        ("bool", bool),  # before number: a bool is an int in Python
        ("number", (int, float, Decimal128)),
        ("string", str),
        ("object", dict),
        ("binData", bytes),
        ("objectId", ObjectId),
        ("date", datetime),
    ):
        if isinstance(value, kind):
            return alias
    return None


def _strictly_after(key: SortKey, value: Any) -> Query | None:
    if value is None:
        # Nulls come last in a descending order: nothing follows them there.
        return None if key.descending else {key.field: {"$ne": None}}
    alternatives = [{key.field: {"$lt" if key.descending else "$gt": value}}]
    kind = _type_of(value)
    if kind is not None:
        at = _TYPES.index(kind)
        following = _TYPES[:at] if key.descending else _TYPES[at + 1 :]
        alternatives += [{key.field: {"$type": alias}} for alias in following]
    if key.descending:
        alternatives.append({key.field: None})
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


def after_position(order: Sequence[SortKey], values: Sequence[Any], last_id: str, *, inclusive: bool = False) -> Query:
    """Documents that sort strictly after (values..., last_id) in this order, or at it too
    when `inclusive`."""
    alternatives: list[Query] = []
    equal_so_far: list[Query] = []
    for key, value in zip(order, values, strict=True):
        after = _strictly_after(key, value)
        if after is not None:
            alternatives.append({"$and": [*equal_so_far, after]} if equal_so_far else after)
        # An object is compared whole, never read as operators.
        equal_so_far.append({key.field: {"$eq": value} if isinstance(value, dict) else value})
    operator = "$lt" if tie_break_descending(order) else "$gt"
    after_id = {TIE_BREAK: {operator + "e" if inclusive else operator: last_id}}
    alternatives.append({"$and": [*equal_so_far, after_id]})
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


def position_of(order: Sequence[SortKey], document: dict[str, Any]) -> list[Any]:
    return [document.get(key.field) for key in order]
