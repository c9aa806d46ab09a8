"""Grouped counts of instances in one aggregation: `$match` with the query of every read
(the caller's filter and read restriction), then `$group` by the stored values of the keys.

Each group's stored values are then read as every read reads them (app/values.py), and the
groups that read alike are merged: an odd flag counts as false, an odd read status as Unread,
a number where text belongs as its text, a date stored as text by the month it reads as. The
pipeline's expressions come from the table below, never from a caller's text.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.enums import InstanceGroupKey, ReadStatus
from app.errors import BadUserInput
from app.values import EnumOf, Flag, required_text, text, timestamp

Document = dict[str, Any]


def month(value: Any) -> str | None:
    """The UTC month a stored date reads as, as YYYY-MM."""
    moment = timestamp(value)
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True)
class _Key:
    path: str
    read: Callable[[Any], Any]
    monthly: bool = False  # grouped by the month of a date: by the date itself, a group each


_KEYS: Mapping[InstanceGroupKey, _Key] = {
    InstanceGroupKey.APP_ID: _Key("appId", required_text),
    InstanceGroupKey.ORG: _Key("org", required_text),
    InstanceGroupKey.CURRENT_TASK: _Key("process.currentTask.elementId", text),
    InstanceGroupKey.READ_STATUS: _Key("status.readStatus", EnumOf(ReadStatus, ReadStatus.UNREAD)),
    InstanceGroupKey.IS_ARCHIVED: _Key("status.isArchived", Flag(False)),
    InstanceGroupKey.IS_SOFT_DELETED: _Key("status.isSoftDeleted", Flag(False)),
    InstanceGroupKey.IS_HARD_DELETED: _Key("status.isHardDeleted", Flag(False)),
    InstanceGroupKey.SUBSTATUS_LABEL: _Key("status.substatus.label", text),
    InstanceGroupKey.PARTY_ID: _Key("instanceOwner.partyId", text),
    InstanceGroupKey.CREATED_MONTH: _Key("created", month, monthly=True),
    InstanceGroupKey.LAST_CHANGED_MONTH: _Key("lastChanged", month, monthly=True),
}


@dataclass(frozen=True)
class Group:
    values: Mapping[InstanceGroupKey, Any]  # each key's value as reads show it: text, a flag, a ReadStatus
    count: int


def check_keys(by: Sequence[InstanceGroupKey]) -> None:
    if not by:
        raise BadUserInput("`by` needs at least one key to group by")
    repeated = sorted({k.name for k in by if by.count(k) > 1})
    if repeated:
        raise BadUserInput(f"`by` names {', '.join(repeated)} more than once: name each key once")


def _stored_value(key: _Key) -> Any:
    """The expression of what the key groups by on MongoDB: a date by the first moment of its
    month, anything else by itself, to be read below."""
    path = "$" + key.path
    if not key.monthly:
        return path
    month_start = {"$dateFromParts": {"year": {"$year": path}, "month": {"$month": path}}}
    return {"$cond": [{"$eq": [{"$type": path}, "date"]}, month_start, path]}


def group_pipeline(
    query: Document, by: Sequence[InstanceGroupKey], max_groups: int, *, embedded: bool
) -> list[Document]:
    """The aggregation: the read's query, then one group per combination of stored values and
    their types (MongoDB's `$group` takes 1, 1.0 and true alike, which read as "1", "1.0" and
    true); one more than `max_groups` at most, which is enough to tell there are too many.

    The embedded store (mongomock) has no `$type`, and its `$group` takes values Python finds
    equal as one: it gives each instance's stored values, grouped below. It holds every
    document in memory anyway."""
    check_keys(by)
    if embedded:
        return [{"$match": query}, {"$project": {"_id": {k.name: "$" + _KEYS[k].path for k in by}}}]
    stored = {}
    for k in by:
        stored[k.name] = _stored_value(_KEYS[k])
        stored[f"{k.name}_type"] = {"$type": "$" + _KEYS[k].path}
    return [{"$match": query}, {"$group": {"_id": stored, "count": {"$sum": 1}}}, {"$limit": max_groups + 1}]


def read_groups(
    stored: Sequence[Document], by: Sequence[InstanceGroupKey], max_groups: int, *, embedded: bool
) -> list[Group]:
    """The groups of `group_pipeline` as reads show their values, merged where they read alike,
    the largest first and then by their values in the order of `by` (null first, false before
    true, text by code point, a read status by its stored name); BAD_USER_INPUT past
    `max_groups`. On MongoDB the bound counts the groups of stored values, before odd ones are
    read as what they read as."""
    counts: dict[tuple[Any, ...], int] = {}
    for group in stored:
        values = tuple(_KEYS[k].read(group["_id"].get(k.name)) for k in by)
        counts[values] = counts.get(values, 0) + group.get("count", 1)  # the embedded store's: one each
    if len(counts) > max_groups or (not embedded and len(stored) > max_groups):
        raise BadUserInput(
            f"the instances fall into more than {max_groups} groups: narrow the filter or group by fewer keys"
        )
    ordered = sorted(counts.items(), key=lambda item: (-item[1], *map(_order, item[0])))
    return [Group(dict(zip(by, values, strict=True)), count) for values, count in ordered]


def _order(value: Any) -> tuple[bool, Any]:
    return value is not None, value.value if isinstance(value, ReadStatus) else value
