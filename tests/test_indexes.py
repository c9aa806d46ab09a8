"""The indexes fit the queries: every query shape the API sends has an index that serves its
page without an in-memory sort.

A shape is the query a page really runs (the caller's filter, the hard-deletion rule and the
read restriction, compiled as the store compiles them) with its sort. Under each `$or` MongoDB
plans every branch on its own and merges the sorted branches, so each combination of branches
needs an index. An index serves one when it follows MongoDB's ESR rule: some of the branch's
equality fields first, then exactly the sort keys (walked forwards or backwards), then
anything (ranges).
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.authorization.access import Access
from app.authorization.identity import Caller
from app.authorization.policy_repository import PolicyRepository
from app.store.database import PAGE_INDEXES, IndexKeys
from app.store.filters import compile_read_query
from app.store.ordering import SORT_FIELDS, SortKey, normalize_order, sort_specification

Query = Mapping[str, Any]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
CROSS_ORG_POLICIES = Path(__file__).parent / "fixtures" / "cross-org-policies"

# How mongod plans `$in` under a sort: up to this many values become point scans whose
# sorted results it merges, so `$in` counts as an equality.
MAX_EXPLODED_IN = 200


def _conjuncts(query: Query) -> Iterator[tuple[str, Any]]:
    for key, value in query.items():
        if key == "$and":
            for part in value:
                yield from _conjuncts(part)
        else:
            yield key, value


def _is_equality(condition: Any) -> bool:
    if isinstance(condition, dict):
        if set(condition) == {"$eq"}:
            return condition["$eq"] is not None
        return set(condition) == {"$in"} and 0 < len(condition["$in"]) <= MAX_EXPLODED_IN
    return condition is not None and not isinstance(condition, list)


def equality_sets(query: Query) -> list[frozenset[str]]:
    """The equality fields of each combination of `$or` branches the query holds."""
    sets = [frozenset[str]()]
    for key, value in _conjuncts(query):
        if key == "$or":
            branches = [branch_set for branch in value for branch_set in equality_sets(branch)]
            sets = [outer | branch_set for outer in sets for branch_set in branches]
        elif not key.startswith("$") and _is_equality(value):
            sets = [outer | {key} for outer in sets]
    return sets


def serves(index: IndexKeys, equalities: frozenset[str], sort: Sequence[tuple[str, int]]) -> bool:
    fields = [field for field, _ in index]
    for prefix in range(len(index) - len(sort) + 1):
        if not set(fields[:prefix]) <= equalities:
            return False
        keys = list(index[prefix : prefix + len(sort)])
        if keys in (list(sort), [(field, -direction) for field, direction in sort]):
            return True
    return False


def serving_index(equalities: frozenset[str], sort: Sequence[tuple[str, int]]) -> IndexKeys | None:
    return next((index for index in PAGE_INDEXES if serves(index, equalities, sort)), None)


# --- the shapes ---

DEMO = PolicyRepository.demo()
CALLERS = {
    "service owner": Access(Caller(org="ttd", auth_level=3), {}, DEMO),
    "service owner reading another org's app": Access(
        Caller(org="skd", auth_level=3), {}, PolicyRepository.load(CROSS_ORG_POLICIES)
    ),
    "end user": Access(
        Caller(user_id="1", party_id="1", auth_level=2),
        {"1": frozenset({"PRIV"}), "500": frozenset({"DAGL"}), "501": frozenset({"DAGL"}), "600": frozenset({"REGNA"})},
        DEMO,
    ),
}
FILTERS: dict[str, dict[str, Any] | None] = {
    "no filter": None,
    "appId": {"appId": {"eq": "ttd/skjema-a"}},
    "org": {"org": {"eq": "ttd"}},
    "instanceOwner.partyId": {"instanceOwner": {"partyId": {"eq": "500"}}},
    "process.currentTask": {"process": {"currentTask": {"eq": "Task_1"}}},
    "old drafts": {
        "appId": {"eq": "ttd/skjema-a"},
        "created": {"lte": NOW},
        "process": {"currentTask": {"eq": "Task_1"}},
    },
    "hard-deleted too": {"status": {"isHardDeleted": True}, "data": {"dataType": {"eq": "default"}}},
}
ORDERS = {
    f"{field} {'DESC' if descending else 'ASC'}": (field, descending)
    for field in SORT_FIELDS
    for descending in (True, False)
}


def _query(caller: str, instance_filter: dict[str, Any] | None) -> Query:
    access = CALLERS[caller]
    return compile_read_query(access.instance_filter(instance_filter), access.read_restriction(NOW))


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("instance_filter", FILTERS)
@pytest.mark.parametrize("caller", CALLERS)
def test_every_page_query_has_an_index_for_its_sort(caller, instance_filter, order):
    query = _query(caller, FILTERS[instance_filter])
    field, descending = ORDERS[order]
    sort = sort_specification(normalize_order([SortKey(field, descending)]))
    shapes = equality_sets(query)
    assert shapes
    for equalities in shapes:
        assert serving_index(equalities, sort), f"no index serves {sorted(equalities)} sorted by {sort}: {query}"


def test_every_page_index_serves_some_shape():
    shapes = [
        (equalities, sort_specification(normalize_order([SortKey(*ORDERS[order])])))
        for caller in CALLERS
        for instance_filter in FILTERS
        for order in ORDERS
        for equalities in equality_sets(_query(caller, FILTERS[instance_filter]))
    ]
    for index in PAGE_INDEXES:
        assert any(serves(index, equalities, sort) for equalities, sort in shapes), index


def test_the_default_order_is_served():
    sort = sort_specification(normalize_order(None))
    assert serving_index(frozenset({"org"}), sort) == (("org", 1), ("lastChanged", -1), ("id", -1))


# --- the analysis itself ---


def test_equality_sets_multiply_out_or_branches():
    query = {
        "$and": [
            {"org": "ttd"},
            {"$or": [{"appId": "a"}, {"instanceOwner.partyId": {"$in": ["1", "2"]}, "created": {"$lte": NOW}}]},
            {"$or": [{"dueBefore": None}, {"process.currentTask.elementId": {"$eq": "Task_1"}}]},
            {"$nor": [{"lastChangedBy": "x"}]},
        ]
    }
    assert sorted(sorted(s) for s in equality_sets(query)) == [
        ["appId", "org"],
        ["appId", "org", "process.currentTask.elementId"],
        ["instanceOwner.partyId", "org"],
        ["instanceOwner.partyId", "org", "process.currentTask.elementId"],
    ]
    assert equality_sets({"status.isHardDeleted": {"$ne": True}, "tags": {"$in": []}}) == [frozenset()]


def test_an_index_serves_only_with_equalities_before_the_sort_keys():
    index = (("org", 1), ("lastChanged", -1), ("id", -1))
    assert serves(index, frozenset({"org"}), [("lastChanged", -1), ("id", -1)])
    assert serves(index, frozenset({"org", "appId"}), [("lastChanged", 1), ("id", 1)])  # walked backwards
    assert not serves(index, frozenset({"org"}), [("lastChanged", -1), ("id", 1)])  # one key each way
    assert not serves(index, frozenset({"appId"}), [("lastChanged", -1), ("id", -1)])  # org unconstrained
    assert not serves(index, frozenset({"org"}), [("created", -1), ("id", -1)])
    assert serves((("lastChanged", -1), ("id", -1), ("created", 1)), frozenset(), [("lastChanged", 1), ("id", 1)])
