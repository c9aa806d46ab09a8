"""The seed's recipe "Automatic deletion of drafts", step by step, as an app owner (ttd)
would run it against this gateway:

1. the app's policy lets the service owner delete (skjema-a has the rule library's
   "org can delete an instance of org/app in any task or event"; skjema-b does not);
2. find the drafts: appId=ttd/skjema-a&created=lte:2020-09-30&process.currentTask=Task_1;
3. delete them (here: deleteInstances, dry run first; or deleteInstance one by one).
"""

from typing import Any

import pytest

from tests.conftest import user_token
from tests.factories import make_instance

ENDED = {
    "started": "2020-05-01T10:00:00Z",
    "startEvent": "StartEvent_1",
    "ended": "2020-05-02T10:00:00Z",
    "endEvent": "EndEvent_1",
}
ARCHIVED = {"isArchived": True, "archived": "2020-05-02T10:00:00Z"}


def at(task: str) -> dict[str, Any]:
    return {
        "started": "2020-01-01T10:00:00Z",
        "startEvent": "StartEvent_1",
        "currentTask": {"flow": 2, "elementId": task, "altinnTaskType": "data"},
    }


def draft(created: str, party_id: str = "500", app_id: str = "ttd/skjema-a", **fields: Any) -> dict[str, Any]:
    return make_instance(party_id=party_id, app_id=app_id, created=created, lastChanged=created, **fields)


OLD_DRAFTS = [
    draft("2020-03-15T08:00:00Z"),
    draft("2020-09-29T23:59:59Z", party_id="1337"),
    draft("2020-09-30T00:00:00Z", party_id="600"),  # the boundary itself: lte includes it
]
NOT_TO_DELETE = {
    "newer draft": draft("2020-10-01T00:00:00Z"),
    "recent draft": draft("2024-01-01T10:00:00Z"),
    "completed": draft("2020-05-01T10:00:00Z", process=ENDED, status=ARCHIVED),
    "old, in another task": draft("2020-04-01T10:00:00Z", process=at("Task_2")),
    "another app's old draft": draft("2020-04-01T10:00:00Z", app_id="ttd/skjema-b"),
    "another org's old draft": draft("2020-04-01T10:00:00Z", app_id="skd/skjema-a"),
}
GONE_AT = "2021-01-01T00:00:00Z"
ALREADY_GONE = draft(
    "2020-02-01T10:00:00Z",
    status={"isSoftDeleted": True, "softDeleted": GONE_AT, "isHardDeleted": True, "hardDeleted": GONE_AT},
)
ALL = [*OLD_DRAFTS, *NOT_TO_DELETE.values(), ALREADY_GONE]
OLD_IDS = {d["id"] for d in OLD_DRAFTS}
DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]

# Step 2's storage query, in the InstanceFilter language
DRAFTS = {
    "appId": {"eq": "ttd/skjema-a"},
    "created": {"lte": "2020-09-30"},
    "process": {"currentTask": {"eq": "Task_1"}},
}
FIND = (
    "query($filter: InstanceFilter, $first: Int, $after: String) { instances(filter: $filter, first: $first, "
    "after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id status { isSoftDeleted isHardDeleted "
    "softDeleted hardDeleted } } } }"
)
DELETE_MANY = (
    "mutation($filter: InstanceFilter!, $dryRun: Boolean!, $hard: Boolean!) { deleteInstances(filter: $filter, "
    "dryRun: $dryRun, hard: $hard) { matched deleted unchanged dryRun instanceIds "
    "failed { instanceId code message } } }"
)
DELETE_ONE = (
    "mutation($id: ID!, $hard: Boolean!) { deleteInstance(instanceId: $id, hard: $hard) "
    "{ id status { isSoftDeleted isHardDeleted } } }"
)
TRAIL = "query($id: ID!) { instance(id: $id) { org events { eventType user { orgId } } } }"


async def find(gw, instance_filter: dict[str, Any], first: int = 100, **kwargs: Any) -> dict[str, Any]:
    return (await gw.data(FIND, {"filter": instance_filter, "first": first}, **kwargs))["instances"]


def ids(connection: dict[str, Any]) -> set[str]:
    return {n["id"] for n in connection["nodes"]}


async def assert_untouched(gw) -> None:
    for name, doc in NOT_TO_DELETE.items():
        if doc["appId"].startswith("skd/"):
            continue  # not ttd's to see
        trail = (await gw.data(TRAIL, {"id": doc["id"]}))["instance"]["events"]
        assert trail == [], name


# --- step 1: the policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    "process",
    [at("Task_1"), at("Task_2"), ENDED],
    ids=["in-Task_1", "in-Task_2", "after-EndEvent_1"],
)
@pytest.mark.parametrize(
    ("app_id", "allowed"),
    [("ttd/skjema-a", True), ("ttd/skjema-b", False)],
    ids=["skjema-a-with-org-can-delete", "skjema-b-without-it"],
)
async def test_step_1_the_service_owner_may_delete_only_where_the_policy_says_so(
    gateway_with, app_id, allowed, process
):
    doc = draft("2020-03-15T08:00:00Z", app_id=app_id, process=process)
    async with gateway_with([doc]) as gw:
        body = await gw.query(DELETE_ONE, {"id": doc["id"], "hard": False})
        after = (await find(gw, {"appId": {"eq": app_id}}))["nodes"]
    if allowed:
        assert "errors" not in body, body
        assert body["data"]["deleteInstance"]["status"]["isSoftDeleted"] is True
    else:
        [error] = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert "may not delete" in error["message"]
        assert after[0]["status"]["isSoftDeleted"] is False


async def test_step_1_without_the_rule_a_bulk_delete_deletes_nothing(gateway_with):
    drafts_b = [draft("2020-03-15T08:00:00Z", app_id="ttd/skjema-b") for _ in range(3)]
    async with gateway_with(drafts_b) as gw:
        filter_b = {**DRAFTS, "appId": {"eq": "ttd/skjema-b"}}
        result = (await gw.data(DELETE_MANY, {"filter": filter_b, "dryRun": False, "hard": False}))["deleteInstances"]
        assert (result["matched"], result["deleted"]) == (3, 0)
        assert {f["instanceId"] for f in result["failed"]} == {d["id"] for d in drafts_b}
        assert {f["code"] for f in result["failed"]} == {"FORBIDDEN"}
        assert (await find(gw, {**filter_b, "status": {"isSoftDeleted": False}}))["totalCount"] == 3


# --- step 2: the query --------------------------------------------------------------------


async def test_step_2_the_query_finds_exactly_the_old_drafts(gateway_with):
    async with gateway_with(ALL) as gw:
        found = await find(gw, DRAFTS)
    assert ids(found) == OLD_IDS
    assert found["totalCount"] == len(OLD_IDS)
    assert not any(n["status"]["isSoftDeleted"] for n in found["nodes"])


async def test_step_2_the_query_pages_through_the_old_drafts(gateway_with):
    async with gateway_with(ALL) as gw:
        first = await find(gw, DRAFTS, first=2)
        variables = {"filter": DRAFTS, "first": 2, "after": first["pageInfo"]["endCursor"]}
        second = (await gw.data(FIND, variables))["instances"]
    assert (len(first["nodes"]), first["pageInfo"]["hasNextPage"]) == (2, True)
    assert (len(second["nodes"]), second["pageInfo"]["hasNextPage"]) == (1, False)
    assert ids(first) | ids(second) == OLD_IDS


# --- step 3: deleting them ----------------------------------------------------------------


async def test_step_3_a_dry_run_shows_what_would_be_deleted_and_changes_nothing(gateway_with):
    async with gateway_with(ALL) as gw:
        result = (await gw.data(DELETE_MANY, {"filter": DRAFTS, "dryRun": True, "hard": False}))["deleteInstances"]
        assert result["dryRun"] is True
        assert (result["matched"], result["deleted"], result["failed"]) == (3, 0, [])
        assert set(result["instanceIds"]) == OLD_IDS
        found = await find(gw, DRAFTS)
        assert not any(n["status"]["isSoftDeleted"] for n in found["nodes"])
        for doc in OLD_DRAFTS:
            assert (await gw.data(TRAIL, {"id": doc["id"]}))["instance"]["events"] == []


async def test_step_3_deleting_the_drafts_soft_keeps_them_in_the_recycle_bin(gateway_with):
    async with gateway_with(ALL, DAGL) as gw:
        result = (await gw.data(DELETE_MANY, {"filter": DRAFTS, "dryRun": False, "hard": False}))["deleteInstances"]
        assert result["dryRun"] is False
        assert (result["matched"], result["deleted"], result["failed"]) == (3, 3, [])
        assert set(result["instanceIds"]) == OLD_IDS

        # The contract leaves out only hard-deleted instances: soft-deleted drafts are still
        # found by the same query, marked as deleted ...
        again = await find(gw, DRAFTS)
        assert ids(again) == OLD_IDS
        assert all(n["status"]["isSoftDeleted"] and n["status"]["softDeleted"] for n in again["nodes"])
        # ... and a cleanup job that asks for active drafts finds none left to do
        active = await find(gw, {**DRAFTS, "status": {"isSoftDeleted": False}})
        assert (ids(active), active["totalCount"]) == (set(), 0)

        for doc in OLD_DRAFTS:
            trail = (await gw.data(TRAIL, {"id": doc["id"]}))["instance"]["events"]
            assert trail == [{"eventType": "Deleted", "user": {"orgId": "ttd"}}]
        await assert_untouched(gw)

        # the party still finds its draft in the recycle bin and could restore it
        mine = await find(gw, {"appId": {"eq": "ttd/skjema-a"}}, token=user_token("1", "1"))
        recycled = [n for n in mine["nodes"] if n["id"] == OLD_DRAFTS[0]["id"]]
        assert recycled[0]["status"]["isSoftDeleted"] is True

        # running the job again changes nothing: the same query finds the drafts in the
        # recycle bin and reports them unchanged, not deleted again ...
        result = (await gw.data(DELETE_MANY, {"filter": DRAFTS, "dryRun": False, "hard": False}))["deleteInstances"]
        assert (result["matched"], result["deleted"], result["unchanged"], result["failed"]) == (3, 0, 3, [])
        for doc in OLD_DRAFTS:
            trail = (await gw.data(TRAIL, {"id": doc["id"]}))["instance"]["events"]
            assert [e["eventType"] for e in trail] == ["Deleted"]
        # ... and a job that asks for active drafts finds none
        rerun = {**DRAFTS, "status": {"isSoftDeleted": False}}
        result = (await gw.data(DELETE_MANY, {"filter": rerun, "dryRun": False, "hard": False}))["deleteInstances"]
        assert (result["matched"], result["deleted"], result["instanceIds"]) == (0, 0, [])


async def test_step_3_deleting_the_drafts_hard_removes_them_from_every_list(gateway_with):
    async with gateway_with(ALL, DAGL) as gw:
        dry = (await gw.data(DELETE_MANY, {"filter": DRAFTS, "dryRun": True, "hard": True}))["deleteInstances"]
        assert set(dry["instanceIds"]) == OLD_IDS
        result = (await gw.data(DELETE_MANY, {"filter": DRAFTS, "dryRun": False, "hard": True}))["deleteInstances"]
        assert (result["matched"], result["deleted"], result["failed"]) == (3, 3, [])

        gone = await find(gw, DRAFTS)
        assert (ids(gone), gone["totalCount"]) == (set(), 0)
        asked = await find(gw, {**DRAFTS, "status": {"isHardDeleted": True}})
        assert ids(asked) == OLD_IDS | {ALREADY_GONE["id"]}
        assert all(n["status"]["hardDeleted"] for n in asked["nodes"])
        await assert_untouched(gw)

        # the party no longer sees its draft at all
        mine = await find(gw, {"appId": {"eq": "ttd/skjema-a"}}, token=user_token("1", "1"))
        assert OLD_DRAFTS[0]["id"] not in ids(mine)


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
async def test_step_3_one_by_one_with_delete_instance(gateway_with, hard):
    async with gateway_with(ALL) as gw:
        to_delete: list[str] = []
        after = None
        while True:  # page through the query as a script would
            page = (await gw.data(FIND, {"filter": DRAFTS, "first": 2, "after": after}))["instances"]
            to_delete += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert set(to_delete) == OLD_IDS

        for instance_id in to_delete:
            deleted = (await gw.data(DELETE_ONE, {"id": instance_id, "hard": hard}))["deleteInstance"]
            assert deleted == {"id": instance_id, "status": {"isSoftDeleted": True, "isHardDeleted": hard}}

        remaining = await find(gw, DRAFTS)
        assert ids(remaining) == (set() if hard else OLD_IDS)
        active = await find(gw, {**DRAFTS, "status": {"isSoftDeleted": False}})
        assert active["totalCount"] == 0
        for doc in OLD_DRAFTS:
            trail = (await gw.data(TRAIL, {"id": doc["id"]}))["instance"]["events"]
            assert [e["eventType"] for e in trail] == ["Deleted"]
        await assert_untouched(gw)
