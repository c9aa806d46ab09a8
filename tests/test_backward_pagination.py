"""Relay's backward pages and `node`: `instances(last, before)` on the same keyset cursors as
`first`/`after`, pageInfo's four fields exact both ways, and `node(id:)` for instances.

The property: for every order and filter, walking backward from the end gives exactly the
forward walk, reversed, and any page between two cursors is the slice of the forward walk
between them, with hasPreviousPage and hasNextPage telling whether anything lies outside it.
The documents tie often on every sort key and have null and missing sort values.
"""

import asyncio
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store.database import PAGE_INDEXES
from app.store.ordering import SortKey, after_position, reversed_order, sort_specification
from tests.conftest import Gateway, Store, running_gateway, user_token
from tests.factories import make_instance

MISSING = object()
# Few values per field, so that sort keys tie often; "never" sorts after every real date.
TIMES = ["2024-01-01T10:00:00Z", "2024-01-01T11:00:00+01:00", "2024-05-17T08:30:00.123Z", "9999-12-31T23:59:59.999Z"]
SORT_FIELDS = {
    "LAST_CHANGED": "lastChanged",
    "CREATED": "created",
    "DUE_BEFORE": "dueBefore",
    "VISIBLE_AFTER": "visibleAfter",
}
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"appId": {"eq": "ttd/skjema-a"}},
    {"dueBefore": {"exists": False}},
    {"or": [{"created": {"gte": "2024-05-01"}}, {"visibleAfter": {"exists": False}}]},
    {"instanceOwner": {"partyId": {"eq": "nobody"}}},  # nothing at all
]

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $orderBy: [InstanceOrder!],
           $filter: InstanceFilter) {
  instances(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def messy_documents(count: int = 26) -> list[dict[str, Any]]:
    """Instances whose sort fields are one of a few instants (spelled several ways), null or
    missing; with two the service owner ttd may not see (another org's, a hard-deleted one)."""
    rng = random.Random(18)
    documents = []
    for n in range(count + 2):
        document = make_instance(
            guid=str(uuid.UUID(int=rng.getrandbits(128))), app_id=rng.choice(["ttd/skjema-a", "ttd/skjema-b"])
        )
        for field in SORT_FIELDS.values():
            value = rng.choice([*TIMES, None, MISSING])
            if value is MISSING:
                document.pop(field, None)
            else:
                document[field] = value
        if n == count:
            document["appId"], document["org"] = "acme/other", "acme"
        elif n == count + 1:
            document["status"] = {"isHardDeleted": True, "isSoftDeleted": True}
        documents.append(document)
    return documents


async def page(gw: Gateway, **variables: Any) -> dict[str, Any]:
    result = (await gw.data(PAGE, variables))["instances"]
    assert [e["node"]["id"] for e in result["edges"]] == [n["id"] for n in result["nodes"]]
    cursors = [e["cursor"] for e in result["edges"]]
    info = result["pageInfo"]
    assert (info["startCursor"], info["endCursor"]) == ((cursors[0], cursors[-1]) if cursors else (None, None))
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [n["id"] for n in result["nodes"]]


def flags(result: dict[str, Any]) -> tuple[bool, bool]:
    return result["pageInfo"]["hasPreviousPage"], result["pageInfo"]["hasNextPage"]


async def forward_walk(gw: Gateway, first: int, **query: Any) -> tuple[list[str], list[str]]:
    """The ids of every page forward from the start, and each one's cursor; checks each page's flags."""
    walked: list[str] = []
    cursors: list[str] = []
    after = None
    while True:
        result = await page(gw, first=first, after=after, **query)
        assert flags(result) == (after is not None, result["pageInfo"]["hasNextPage"])
        walked += ids(result)
        cursors += [e["cursor"] for e in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            return walked, cursors
        after = result["pageInfo"]["endCursor"]


async def backward_walk(gw: Gateway, last: int, **query: Any) -> list[str]:
    """The ids of every page backward from the end, in the order of the list."""
    pages: list[list[str]] = []
    before = None
    while True:
        result = await page(gw, last=last, before=before, **query)
        assert flags(result)[1] is (before is not None)
        pages.insert(0, ids(result))
        if not result["pageInfo"]["hasPreviousPage"]:
            return [i for p in pages for i in p]
        assert len(ids(result)) == last, "only the first page may be short"
        before = result["pageInfo"]["startCursor"]


orders = st.lists(
    st.tuples(st.sampled_from(list(SORT_FIELDS)), st.sampled_from(["ASC", "DESC"])), min_size=0, max_size=3
)


def run_property(store: Store, check: Callable[..., Any], **strategies: Any) -> None:
    """`check(gw, ...)` for examples drawn from `strategies`, on one gateway over the messy documents."""
    with asyncio.Runner() as runner:
        started = running_gateway(messy_documents(), **store.settings())
        gw = runner.run(started.__aenter__())
        try:

            @settings(
                max_examples=20,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            )
            @given(**strategies)
            def holds(**drawn: Any) -> None:
                runner.run(check(gw, **drawn))

            holds()
        finally:
            runner.run(started.__aexit__(None, None, None))


def test_a_backward_walk_is_the_forward_walk_reversed(store):
    async def check(gw: Gateway, order: list, instance_filter: Any, first: int, last: int) -> None:
        query = {"orderBy": [{"field": f, "direction": d} for f, d in order], "filter": instance_filter}
        forward, _ = await forward_walk(gw, first, **query)
        assert len(set(forward)) == len(forward)
        assert await backward_walk(gw, last, **query) == forward

    run_property(
        store,
        check,
        order=orders,
        instance_filter=st.sampled_from(FILTERS),
        first=st.integers(1, 9),
        last=st.integers(1, 9),
    )


def test_a_page_between_cursors_is_the_slice_between_them_and_its_flags_are_exact(store):
    async def check(gw: Gateway, order: list, instance_filter: Any, bounds: tuple, size: int, backward: bool) -> None:
        query = {"orderBy": [{"field": f, "direction": d} for f, d in order], "filter": instance_filter}
        everything, cursors = await forward_walk(gw, 100, **query)
        # `after` at the a-th, `before` at the b-th (None: no cursor).
        a, b = (None if i is None or not cursors else i % len(cursors) for i in bounds)
        window = everything[0 if a is None else a + 1 : len(everything) if b is None else b]
        expected = window[max(0, len(window) - size) :] if backward else window[:size]
        result = await page(
            gw,
            **{"last" if backward else "first": size},
            after=None if a is None else cursors[a],
            before=None if b is None else cursors[b],
            **query,
        )
        assert ids(result) == expected
        if expected:
            start, end = everything.index(expected[0]), everything.index(expected[-1])
            assert flags(result) == (start > 0, end < len(everything) - 1)
        else:
            # An empty page lies at the window's start read forward, at its end read backward:
            # the window lies beyond it, and the documents of the cursors around it.
            assert flags(result) == (
                a is not None or (backward and bool(window)),
                b is not None or (not backward and bool(window)),
            )

    run_property(
        store,
        check,
        order=orders,
        instance_filter=st.sampled_from(FILTERS[:4]),
        bounds=st.tuples(st.none() | st.integers(0, 40), st.none() | st.integers(0, 40)),
        size=st.integers(0, 12),
        backward=st.booleans(),
    )


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ instances(first: 2, last: 2) { nodes { id } } }", {}),
        ("{ instances(first: 100, last: 2) { nodes { id } } }", {}),  # the default, but written
        ("query($f: Int, $l: Int) { instances(first: $f, last: $l) { totalCount } }", {"f": 0, "l": 1}),
    ],
)
async def test_first_with_last_is_bad_user_input(gateway_with, query, variables):
    async with gateway_with([make_instance()]) as gw:
        body = await gw.query(query, variables)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`first` and `last` together" in error["message"]


@pytest.mark.parametrize(
    "query",
    [
        "{ instances(last: 2) { nodes { id } } }",
        "{ instances(first: null, last: 2) { nodes { id } } }",
        "query($f: Int) { instances(first: $f, last: 2) { nodes { id } } }",  # $f not given
    ],
)
async def test_last_alone_pages_backward_despite_the_default_of_first(gateway_with, query):
    documents = [make_instance(lastChanged=f"2024-01-0{n}T00:00:00Z") for n in range(1, 5)]
    async with gateway_with(documents) as gw:
        nodes = (await gw.data(query))["instances"]["nodes"]
    assert [n["id"] for n in nodes] == [documents[1]["id"], documents[0]["id"]]  # the oldest two, newest first


@pytest.mark.parametrize("last", [1001, -1, 2**31 - 1])
async def test_last_out_of_range_is_bad_user_input(gateway_with, last):
    async with gateway_with([make_instance()]) as gw:
        body = await gw.query(PAGE, {"last": last})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`last` must be between 0 and 1000" in error["message"]


async def test_last_at_the_limits_is_accepted(gateway_with):
    async with gateway_with([make_instance(), make_instance()]) as gw:
        assert len(ids(await page(gw, last=1000))) == 2
        nothing = await page(gw, last=0)
    assert ids(nothing) == [] and flags(nothing) == (True, False)


async def test_a_before_cursor_that_is_tampered_or_of_another_query_is_bad_user_input(gateway_with):
    async with gateway_with(messy_documents(6)) as gw:
        cursor = (await page(gw, first=3))["pageInfo"]["endCursor"]
        tampered = await gw.query(PAGE, {"last": 2, "before": cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")})
        other = await gw.query(PAGE, {"last": 2, "before": cursor, "orderBy": [{"field": "CREATED"}]})
    for body, says in ((tampered, "is not a cursor this gateway issued"), (other, "belongs to another query")):
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert f"the `before` cursor {says}" in error["message"]


async def test_a_cursor_serves_as_after_and_as_before(gateway_with):
    documents = [make_instance(lastChanged=f"2024-01-0{n}T00:00:00Z") for n in range(1, 6)]
    async with gateway_with(documents) as gw:
        middle = (await page(gw, first=3))["edges"][2]["cursor"]  # newest first: the 3rd newest
        assert ids(await page(gw, first=5, after=middle)) == [documents[1]["id"], documents[0]["id"]]
        assert ids(await page(gw, last=5, before=middle)) == [documents[4]["id"], documents[3]["id"]]


# --- what hasPreviousPage costs ------------------------------------------------------------------


def count_probes(gw: Gateway) -> list[dict[str, Any]]:
    """The queries of the existence checks (find_one on instances) from now on."""
    collection = gw.http._transport.app.state.services.database.instances  # type: ignore[attr-defined]
    probes: list[dict[str, Any]] = []
    original = collection.find_one

    def find_one(query: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        probes.append(query)
        return original(query, *args, **kwargs)

    collection.find_one = find_one
    return probes


async def test_has_previous_page_after_a_cursor_costs_one_query_only_when_selected(gateway_with):
    documents = [make_instance(lastChanged=f"2024-01-0{n}T00:00:00Z") for n in range(1, 6)]
    async with gateway_with(documents) as gw:
        cursor = (await page(gw, first=1))["pageInfo"]["endCursor"]
        probes = count_probes(gw)
        without = "query($a: String) { instances(first: 2, after: $a) { nodes { id } pageInfo { hasNextPage } } }"
        assert (await gw.data(without, {"a": cursor}))["instances"]["pageInfo"] == {"hasNextPage": True}
        assert probes == []
        with_it = "query($a: String) { instances(first: 2, after: $a) { pageInfo { hasPreviousPage } } }"
        assert (await gw.data(with_it, {"a": cursor}))["instances"]["pageInfo"] == {"hasPreviousPage": True}
        assert len(probes) == 1
        # From the start nothing can come before: no query.
        assert (await gw.data(with_it, {"a": None}))["instances"]["pageInfo"] == {"hasPreviousPage": False}
        assert len(probes) == 1


# --- node(id:) ---------------------------------------------------------------------------------

NODE = """query($id: ID!) {
  node(id: $id) { __typename id ... on Instance { appId instanceGuid } ...Owner }
  instance(id: $id) { id appId }
}
fragment Owner on Node { ... on Instance { instanceOwner { partyId } } }"""


async def test_node_is_the_instance_by_its_id(gateway_with):
    document = make_instance()
    async with gateway_with([document]) as gw:
        data = await gw.data(NODE, {"id": document["id"]})
    assert data["node"] == {
        "__typename": "Instance",
        "id": document["id"],
        "appId": document["appId"],
        "instanceGuid": document["id"].split("/")[1],
        "instanceOwner": {"partyId": document["instanceOwner"]["partyId"]},
    }


@pytest.mark.parametrize(
    ("id", "token"),
    [
        ("1337/00000000-0000-0000-0000-000000000000", None),  # absent
        ("not an id", None),
        (None, user_token("2", "2")),  # there, but another party's
    ],
)
async def test_node_is_null_when_absent_or_not_visible_as_instance_is(gateway_with, id, token):
    document = make_instance(party_id="1337")
    async with gateway_with([document]) as gw:
        kwargs = {"token": token} if token else {}
        data = await gw.data(NODE, {"id": id or document["id"]}, **kwargs)
    assert data == {"node": None, "instance": None}


# --- keyset conditions and indexes ---------------------------------------------------------------

T1 = datetime(2024, 1, 1, tzinfo=UTC)


def test_before_a_position_is_after_it_in_the_reversed_order():
    order = (SortKey("dueBefore", descending=False),)
    assert reversed_order(order) == (SortKey("dueBefore", descending=True),)
    # Ascending, nulls come first: before a date come the earlier dates, values of the types
    # MongoDB sorts before dates, the nulls, and the same date's lower ids.
    earlier_types = ["number", "string", "object", "binData", "objectId", "bool"]
    assert after_position(reversed_order(order), [T1], "1/b") == {
        "$or": [
            {
                "$or": [
                    {"dueBefore": {"$lt": T1}},
                    *({"dueBefore": {"$type": alias}} for alias in earlier_types),
                    {"dueBefore": None},
                ]
            },
            {"$and": [{"dueBefore": T1}, {"id": {"$lt": "1/b"}}]},
        ]
    }


def test_at_or_after_a_position_takes_its_own_document_too():
    assert after_position((SortKey("created"),), [None], "1/b", inclusive=True) == {
        "$and": [{"created": None}, {"id": {"$lte": "1/b"}}]
    }
    assert after_position((SortKey("created", descending=False),), [T1], "1/b", inclusive=True) == {
        "$or": [{"created": {"$gt": T1}}, {"$and": [{"created": T1}, {"id": {"$gte": "1/b"}}]}]
    }


@pytest.mark.parametrize(
    "order",
    [[SortKey(field, descending)] for field in SORT_FIELDS.values() for descending in (True, False)],
)
def test_a_backward_page_is_sorted_by_the_same_index_walked_the_other_way(order):
    forward = sort_specification(order)
    backward = sort_specification(reversed_order(order))
    assert backward == [(field, -direction) for field, direction in forward]
    # A page index (after its equality prefix) in its direction or against it.
    indexed = [list(keys[1:]) for keys in PAGE_INDEXES]
    assert forward in indexed or backward in indexed
