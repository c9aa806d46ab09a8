"""instanceGroups over HTTP, on both stores: counts by keys, what odd stored values count as,
the read restriction, the bound, and a property: the groups are the counts of a walk of
`instances` with the same filter, for generated filters and keys."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.composition import create_app
from app.config import Settings
from app.enums import InstanceGroupKey
from app.store.writes import write_all
from tests.conftest import TEST_SECRET, Gateway, Store, org_token, user_token
from tests.factories import make_instance
from tests.messy_documents import messy_instances

GROUPS = """query($filter: InstanceFilter, $by: [InstanceGroupKey!]!) {
  instanceGroups(filter: $filter, by: $by) {
    appId org currentTask readStatus isArchived isSoftDeleted isHardDeleted substatusLabel partyId
    createdMonth lastChangedMonth count
  }
}"""

WALK = """query($filter: InstanceFilter, $after: String) {
  instances(filter: $filter, first: 1000, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      appId org process { currentTask { elementId } }
      status { readStatus isArchived isSoftDeleted isHardDeleted substatus { label } }
      instanceOwner { partyId } created lastChanged
    }
  }
}"""

FIELDS = {key: key.value for key in InstanceGroupKey}


def _odd_documents() -> list[dict[str, Any]]:
    """Stored as they are: odd spellings and types, strings for dates, missing flags."""
    return [
        make_instance(status={"readStatus": "read", "isArchived": 1}, created=datetime(2024, 3, 5, tzinfo=UTC)),
        make_instance(status={"readStatus": 1, "isArchived": True}, created="2024-03-31T23:30:00-01:00"),
        make_instance(status={"readStatus": "no such status"}, created="2024-04-01T00:30:00+01:00"),
        make_instance(status="odd", process={"currentTask": [{"elementId": "Task_1"}]}, created="not a date"),
        make_instance(party_id="500", status={"isHardDeleted": True, "readStatus": "Read"}),
        make_instance(
            app_id="ttd/skjema-b",
            status={"substatus": {"label": "Venter"}, "isSoftDeleted": True},
            process={"ended": "2024-02-01T00:00:00Z", "endEvent": "EndEvent_1"},
            created=datetime(2023, 12, 31, 23, 59, tzinfo=UTC),
        ),
    ]


def _data_set() -> list[dict[str, Any]]:
    messy = messy_instances(19, 40, party_ids=["1337", "500"], app_ids=["ttd/skjema-a", "ttd/skjema-b", "ttd/melding"])
    return messy + _odd_documents()


DATA = _data_set()


@contextlib.asynccontextmanager
async def stored_as_they_are(store: Store, instances: list[dict[str, Any]], **overrides: Any) -> AsyncIterator[Gateway]:
    async def seed(database: Any) -> None:
        await write_all(database, instances, [])

    settings = Settings(_env_file=None, jwt_secret=TEST_SECRET, **store.settings(**overrides))
    app = create_app(settings, seed=seed)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        yield Gateway(client)


async def groups(gateway: Gateway, by: list[str], instance_filter: Any = None, **kwargs: Any) -> list[dict]:
    return (await gateway.data(GROUPS, {"by": by, "filter": instance_filter}, **kwargs))["instanceGroups"]


async def test_counts_by_app_and_task_largest_first(gateway_with):
    documents = [
        make_instance(),
        make_instance(),
        make_instance(app_id="ttd/skjema-b"),
        make_instance(app_id="ttd/skjema-b", process={"ended": "2024-02-01T00:00:00Z"}),
        make_instance(app_id="ttd/skjema-b", process={"ended": "2024-02-01T00:00:00Z"}),
        make_instance(app_id="ttd/skjema-b", process={"ended": "2024-02-01T00:00:00Z"}),
    ]
    async with gateway_with(documents) as gateway:
        found = await groups(gateway, ["APP_ID", "CURRENT_TASK"])
    assert [(g["appId"], g["currentTask"], g["count"]) for g in found] == [
        ("ttd/skjema-b", None, 3),
        ("ttd/skjema-a", "Task_1", 2),
        ("ttd/skjema-b", "Task_1", 1),
    ]
    assert all(g["org"] is None and g["readStatus"] is None for g in found)  # keys not asked for


async def test_odd_stored_values_count_as_they_read(store):
    async with stored_as_they_are(store, _odd_documents()) as gateway:
        found = await groups(gateway, ["READ_STATUS", "IS_ARCHIVED", "CREATED_MONTH"])
        hard_deleted = await groups(gateway, ["IS_HARD_DELETED"], {"status": {"isHardDeleted": True}})
        archived = await groups(gateway, ["IS_ARCHIVED"])
    assert {(g["readStatus"], g["isArchived"], g["createdMonth"]): g["count"] for g in found} == {
        ("READ", False, "2024-03"): 1,  # "read", and 1 is not a flag
        ("READ", True, "2024-04"): 1,  # .NET's number; a date as text, read in UTC
        ("UNREAD", False, "2024-03"): 1,  # no such status; the next month in its own zone
        ("UNREAD", False, None): 1,  # a status that is no object, a date that is none
        ("UNREAD", False, "2023-12"): 1,
    }
    # 1 and true, which a store may take as one value, count apart: as false and as true.
    assert [(g["isArchived"], g["count"]) for g in archived] == [(False, 4), (True, 1)]
    assert hard_deleted == [dict.fromkeys(FIELDS.values()) | {"isHardDeleted": True, "count": 1}]


async def test_an_end_user_counts_only_what_it_may_see(gateway_with):
    documents = [make_instance(party_id="1337"), make_instance(party_id="1337"), make_instance(party_id="500")]
    async with gateway_with(documents) as gateway:
        mine = await groups(gateway, ["PARTY_ID"], token=user_token("1337", "1337"))
        everyone = await groups(gateway, ["PARTY_ID"])
    assert [(g["partyId"], g["count"]) for g in mine] == [("1337", 2)]
    assert [(g["partyId"], g["count"]) for g in everyone] == [("1337", 2), ("500", 1)]


async def test_more_groups_than_a_page_is_a_clear_error(gateway_with):
    documents = [make_instance(party_id=str(1000 + n)) for n in range(101)]
    async with gateway_with(documents, max_page_size=100) as gateway:
        too_many = await gateway.query(GROUPS, {"by": ["PARTY_ID"]})
        narrowed = await groups(gateway, ["PARTY_ID"], {"instanceOwner": {"partyId": {"startsWith": "10"}}})
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "more than 100 groups" in too_many["errors"][0]["message"]
    assert len(narrowed) == 100
    assert [g["partyId"] for g in narrowed] == sorted(g["partyId"] for g in narrowed)  # ties: by the key


@pytest.mark.parametrize(
    ("by", "message"),
    [([], "at least one key"), (["ORG", "APP_ID", "ORG"], "ORG more than once"), (["NOPE"], "NOPE")],
)
async def test_keys_are_checked(gateway_with, by, message):
    async with gateway_with([make_instance()]) as gateway:
        body = await gateway.query(GROUPS, {"by": by})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in body["errors"][0]["message"]


# --- the property: groups are the counts of a walk of `instances` ---

CONDITIONS = [
    {"appId": {"eq": "ttd/skjema-a"}},
    {"appId": {"in": ["ttd/skjema-b", "ttd/melding"]}},
    {"instanceOwner": {"partyId": {"eq": "500"}}},
    {"process": {"currentTask": {"eq": "Task_1"}}},
    {"process": {"isComplete": True}},
    {"status": {"isArchived": True}},
    {"status": {"isSoftDeleted": False}},
    {"status": {"isHardDeleted": True}},
    {"status": {"readStatus": ["READ", "UPDATED_SINCE_LAST_REVIEW"]}},
    {"status": {"substatusLabel": {"exists": True}}},
    {"created": {"gte": "2024-06-01T00:00:00Z"}},
    {"lastChanged": {"lt": "2025-01-01T00:00:00Z"}},
]
filters = st.one_of(
    st.none(),
    st.sampled_from(CONDITIONS),
    st.lists(st.sampled_from(CONDITIONS), min_size=2, max_size=3).map(lambda c: {"and": c}),
    st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=2).map(lambda c: {"or": c}),
    st.sampled_from(CONDITIONS).map(lambda c: {"not": c}),
)
keys = st.lists(st.sampled_from(list(InstanceGroupKey)), min_size=1, max_size=4, unique=True)
callers = st.sampled_from(["owner", "user"])


def _walked_values(node: dict[str, Any]) -> dict[InstanceGroupKey, Any]:
    status = node["status"]
    return {
        InstanceGroupKey.APP_ID: node["appId"],
        InstanceGroupKey.ORG: node["org"],
        InstanceGroupKey.CURRENT_TASK: ((node["process"] or {}).get("currentTask") or {}).get("elementId"),
        InstanceGroupKey.READ_STATUS: status["readStatus"],
        InstanceGroupKey.IS_ARCHIVED: status["isArchived"],
        InstanceGroupKey.IS_SOFT_DELETED: status["isSoftDeleted"],
        InstanceGroupKey.IS_HARD_DELETED: status["isHardDeleted"],
        InstanceGroupKey.SUBSTATUS_LABEL: (status["substatus"] or {}).get("label"),
        InstanceGroupKey.PARTY_ID: node["instanceOwner"]["partyId"],
        InstanceGroupKey.CREATED_MONTH: node["created"] and node["created"][:7],
        InstanceGroupKey.LAST_CHANGED_MONTH: node["lastChanged"] and node["lastChanged"][:7],
    }


async def _walk(gateway: Gateway, instance_filter: Any, token: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await gateway.data(WALK, {"filter": instance_filter, "after": after}, token=token))["instances"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def _check(store: Store, cases: list[tuple[Any, list[InstanceGroupKey], str]]) -> None:
    async with stored_as_they_are(store, DATA) as gateway:
        for instance_filter, by, caller in cases:
            token = org_token("ttd") if caller == "owner" else user_token("1337", "1337")
            walked = Counter(
                tuple(_walked_values(n)[k] for k in by) for n in await _walk(gateway, instance_filter, token)
            )
            grouped = await groups(gateway, [k.name for k in by], instance_filter, token=token)
            assert Counter({tuple(g[FIELDS[k]] for k in by): g["count"] for g in grouped}) == walked
            assert len(grouped) == len(walked)
            counts = [g["count"] for g in grouped]
            assert counts == sorted(counts, reverse=True)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.tuples(filters, keys, callers), min_size=4, max_size=4))
def test_groups_are_the_counts_of_a_walk(store, cases):
    asyncio.run(_check(store, cases))
