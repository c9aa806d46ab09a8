"""What can make a change concern a subscriber: the orgs, apps and parties its read
restriction and filter name. The change hub files each subscriber under these, so that a
change is judged only for the subscribers its own org, app or party names.

A reach is sound, never exact: every instance the filter matches has a key in it (an `org`,
`appId` or `instanceOwner.partyId` value), so a change whose documents have none of its keys
cannot concern the subscriber. None: the filter names no such thing (a sync adapter, a filter
on `not` alone), and every change is judged for it.
"""

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

Key = tuple[str, Hashable]  # ("org" | "appId" | "partyId", a value as stored)
Reach = frozenset[Key]

# The document paths of the keys; a filter names them as the compiler reads them.
KEY_PATHS = {"org": ("org",), "appId": ("appId",), "partyId": ("instanceOwner", "partyId")}
# Roughly how many changes one key names: a party's few, an app's many, an org's all its apps'.
# Where a filter names several, the reach that names the fewest changes is kept.
_WEIGHTS = {"partyId": 1, "appId": 100, "org": 10_000}


def reach_of(instance_filter: Mapping[str, Any] | None) -> Reach | None:
    """The keys one of which every instance that matches `instance_filter` has (in the
    InstanceFilter language the store compiles); None when there is no such set."""
    if not instance_filter:
        return None
    owner = instance_filter.get("instanceOwner")
    candidates = [
        _named("org", instance_filter.get("org")),
        _named("appId", instance_filter.get("appId")),
        _named("partyId", owner.get("partyId") if isinstance(owner, Mapping) else None),
        *(reach_of(part) for part in instance_filter.get("and") or ()),
    ]
    alternatives = instance_filter.get("or")
    if alternatives is not None:
        candidates.append(_union(reach_of(alternative) for alternative in alternatives))
    return narrowest(*candidates)


def narrowest(*reaches: Reach | None) -> Reach | None:
    """Of reaches that each hold every match of a filter, the one naming the fewest changes
    (all conditions hold at once, so any one of them is sound)."""
    known = [reach for reach in reaches if reach is not None]
    return min(known, key=lambda reach: sum(_WEIGHTS[kind] for kind, _ in reach), default=None)


def keys_of(document: Mapping[str, Any] | None) -> set[Key]:
    """The keys a document names: each value at each key's path, as MongoDB matches it (an
    array field names each of its elements; a path runs through arrays of objects)."""
    if document is None:
        return set()
    return {(kind, value) for kind, path in KEY_PATHS.items() for value in _values_at(document, path)}


def _named(kind: str, condition: Any) -> Reach | None:
    if not isinstance(condition, Mapping):
        return None
    options = []
    if condition.get("eq") is not None:
        options.append(frozenset({(kind, condition["eq"])}))
    # `in` with null also matches an instance without the field, which names no key.
    if condition.get("in") is not None and None not in condition["in"]:
        options.append(frozenset((kind, value) for value in condition["in"]))
    return narrowest(*options)


def _union(reaches: Iterable[Reach | None]) -> Reach | None:
    # An `or` reaches what any alternative reaches; one that reaches anything makes it so.
    union: set[Key] = set()
    for reach in reaches:
        if reach is None:
            return None
        union |= reach
    return frozenset(union)


def _values_at(value: Any, path: tuple[str, ...]) -> Iterator[Hashable]:
    # More than MongoDB matches (arrays nested in arrays too) is safe: a key too many only
    # has a change judged for a subscriber it does not concern.
    if isinstance(value, list):
        for item in value:
            yield from _values_at(item, path)
    elif not path:
        # A filter names strings: never null, nor an object where a key is stored.
        if value is not None and isinstance(value, Hashable):
            yield value
    elif isinstance(value, Mapping):
        yield from _values_at(value.get(path[0]), path[1:])
