"""The calls Altinn's clients make, answered as Altinn Storage's controllers answer them; each
test names the Altinn controller test it ports (our data, Altinn's expectations)."""

from tests.conftest import org_token, user_token
from tests.factories import make_instance
from tests.rest import STORAGE, call, ok, problem

DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
SBL = "/storage/api/v1/sbl/instances"
SOFT_DELETED = {"isSoftDeleted": True, "softDeleted": "2024-02-01T00:00:00Z"}
HARD_DELETED = {**SOFT_DELETED, "isHardDeleted": True, "hardDeleted": "2024-02-02T00:00:00Z"}
GRAPHQL_STATUS = "query($id: ID!) { instance(id: $id) { status { isSoftDeleted } events { eventType } } }"


async def test_the_message_box_restores_a_soft_deleted_instance_and_answers_true(gateway_with):
    # MessageboxInstancesControllerTests.Undelete_RestoreSoftDeletedInstance_ReturnsTrue
    deleted = make_instance(party_id="500", status=SOFT_DELETED)
    async with gateway_with([deleted], DAGL) as gw:
        response = await call(gw, "PUT", f"{SBL}/{deleted['id']}/undelete", token=user_token("1", "500"))
        again = await call(gw, "PUT", f"{SBL}/{deleted['id']}/undelete", token=user_token("1", "500"))
        after = (await gw.data(GRAPHQL_STATUS, {"id": deleted["id"]}))["instance"]
    assert (response.status_code, response.json()) == (200, True)
    # already out of the recycle bin: true again, and no second event
    assert (again.status_code, again.json()) == (200, True)
    assert after == {"status": {"isSoftDeleted": False}, "events": [{"eventType": "Undeleted"}]}


async def test_restoring_is_refused_as_altinn_refuses_it(gateway_with):
    # MessageboxInstancesControllerTests.Undelete_ResponseIsDeny_ReturnsStatusForbidden,
    # Undelete_AttemptToRestoreHardDeletedInstance_ReturnsNotFound,
    # Undelete_RestoreNonExistentInstance_ReturnsNotFound (Altinn's text for an absent instance)
    no_delete_rule = make_instance(app_id="ttd/skjema-b", party_id="500", status=SOFT_DELETED)
    gone = make_instance(party_id="500", status=HARD_DELETED)
    absent = "500/4be22ede-a16c-4a93-be7f-c529788d6a4c"
    async with gateway_with([no_delete_rule, gone], DAGL) as gw:
        await problem(gw, "PUT", f"{SBL}/{no_delete_rule['id']}/undelete", 403)
        permanently = await problem(gw, "PUT", f"{SBL}/{gone['id']}/undelete", 404)
        missing = await problem(gw, "PUT", f"{SBL}/{absent}/undelete", 404)
        # the gateway's own invented POST .../instances/.../undelete is gone
        invented = await call(gw, "POST", f"{STORAGE}/{no_delete_rule['id']}/undelete")
    assert permanently["detail"] == "Instance was permanently deleted and cannot be restored."
    assert missing["detail"] == f"Didn't find the object that should be restored with instanceId={absent}"
    assert invented.status_code == 404


async def test_an_instance_reads_by_its_guid_alone(gateway_with):
    # InstancesControllerTests.GetByGuid_One_Ok, GetByGuid_One_Twice_Ok
    document = make_instance(party_id="500")
    guid = document["id"].partition("/")[2]
    async with gateway_with([document], DAGL) as gw:
        by_guid = await ok(gw, "GET", f"{STORAGE}/{guid}")
        twice = await ok(gw, "GET", f"{STORAGE}/{guid}", token=user_token("1", "500"))
        with_party = await ok(gw, "GET", f"{STORAGE}/{document['id']}")
    assert by_guid == with_party
    assert twice["id"] == document["id"]


async def test_reading_by_guid_is_refused_as_altinn_refuses_it(gateway_with):
    # InstancesControllerTests.GetByGuid_ReponseIsDeny_ReturnsStatusForbidden; Altinn's 404 text
    document = make_instance(party_id="500")
    guid = document["id"].partition("/")[2]
    absent = "4be22ede-a16c-4a93-be7f-c529788d6a4c"
    async with gateway_with([document], DAGL) as gw:
        await problem(gw, "GET", f"{STORAGE}/{guid}", 403, token=user_token("2", "600"))
        await problem(gw, "GET", f"{STORAGE}/{guid}", 403, token=org_token("skd"))
        missing = await problem(gw, "GET", f"{STORAGE}/{absent}", 404)
        malformed = await call(gw, "GET", f"{STORAGE}/not-a-guid")
    assert missing["detail"] == f"Unable to find instance {absent}"
    assert malformed.status_code in (400, 404)


async def ids(gw, query: str) -> list[str]:
    page = await ok(gw, "GET", f"{STORAGE}?{query}", "QueryResponse")
    return [instance["id"] for instance in page["instances"]]


async def test_the_parameters_altinn_binds_select_as_in_altinn(gateway_with):
    # InstanceTests.Instance_GetInstancesFromQuery_A3Ref_Match_Ok, Instance_GetInstancesFromQuery_A3Ref_NoMatch_Ok,
    # Instance_GetInstancesFromQuery_DataValuesA2ArchRef_Match_Ok,
    # Instance_GetInstancesFromQuery_DataValuesA2ArchRef_NoMatch_Ok
    a3 = make_instance(guid="5e4d3c2b-aaaa-4bbb-8ccc-b7fe18ccff30", lastChanged="2024-01-01T10:00:00Z")
    migrated = make_instance(dataValues={"A2ArchRef": "AR1234"}, lastChanged="2024-01-02T10:00:00Z")
    with_data = make_instance(data=[{"id": "e1", "dataType": "default"}], lastChanged="2024-01-03T10:00:00Z")
    async with gateway_with([a3, migrated, with_data]) as gw:
        assert await ids(gw, "org=ttd&A3Ref=b7fe18ccff30") == [a3["id"]]
        assert await ids(gw, "org=ttd&A3Ref=b7fe18ccff31") == []
        assert await ids(gw, "org=ttd&dataValues.A2ArchRef=AR1234") == [migrated["id"]]
        assert await ids(gw, "org=ttd&dataValues.A2ArchRef=AR9999") == []
        # the gateway's instances are Altinn 3's
        assert await ids(gw, "org=ttd&mainVersionInclude=3") == await ids(gw, "org=ttd")
        assert await ids(gw, "org=ttd&mainVersionInclude=2") == []
        assert await ids(gw, "org=ttd&mainVersionExclude=3") == []
        # any order not starting with desc: is oldest change first
        assert await ids(gw, "org=ttd&order=asc:created") == [a3["id"], migrated["id"], with_data["id"]]
        assert await ids(gw, "org=ttd&order=desc:created") == [with_data["id"], migrated["id"], a3["id"]]
        without = await ok(gw, "GET", f"{STORAGE}?org=ttd&includeDataElements=false", "QueryResponse")
        with_them = await ok(gw, "GET", f"{STORAGE}?org=ttd&includeDataElements=true", "QueryResponse")
    assert [i["data"] for i in without["instances"]] == [[], [], []]
    assert [len(i["data"]) for i in with_them["instances"]] == [1, 0, 0]


STUDIO = "/storage/api/v1/studio/instances"


async def test_studio_lists_an_apps_instances_ten_a_page_in_simple_form(gateway_with):
    # StudioInstancesControllerTests.GetInstances_ReturnsOk, GetInstances_WithContinuationToken_ReturnsOk
    read = make_instance(
        guid="5e4d3c2b-aaaa-4bbb-8ccc-b7fe18ccff30",
        status={"readStatus": "UpdatedSinceLastReview", "archived": "2024-01-05T00:00:00Z", "isArchived": True},
        completeConfirmations=[
            {"stakeholderId": "ttd", "confirmedOn": "2024-01-07T00:00:00.5Z"},
            {"stakeholderId": "skd", "confirmedOn": "2024-01-06T00:00:00Z"},
        ],
        lastChanged="2024-02-01T00:00:00Z",
    )
    others = [make_instance() for _ in range(10)]
    other_app = make_instance(app_id="ttd/skjema-b")
    async with gateway_with([read, *others, other_app]) as gw:
        first = await ok(gw, "GET", f"{STUDIO}/ttd/skjema-a", "SimpleInstanceQueryResponse")
        second = await ok(
            gw, "GET", f"{STUDIO}/ttd/skjema-a?continuationToken={first['next']}", "SimpleInstanceQueryResponse"
        )
        by_reference = await ok(
            gw, "GET", f"{STUDIO}/ttd/skjema-a?archiveReference=B7FE18CCFF30", "SimpleInstanceQueryResponse"
        )
        await problem(
            gw, "GET", f"{STUDIO}/ttd/skjema-a", 401, token=None
        )  # GetInstances_NoAccessToken_ReturnsUnauthorized
        # GetInstances_WrongAppClaim_ReturnsForbidden: another org (or an end user) is not the app's owner
        await problem(gw, "GET", f"{STUDIO}/ttd/skjema-a", 403, token=org_token("skd"))
        await problem(gw, "GET", f"{STUDIO}/ttd/skjema-a", 403, token=user_token("1", "1337"))
        await problem(gw, "GET", f"{STUDIO}/ttd/skjema-a?appId=ttd/skjema-b", 400)
    assert (first["count"], first["self"], second["count"], second["next"]) == (10, None, 1, None)
    listed = {i["id"] for i in first["instances"] + second["instances"]}
    assert listed == {d["id"].partition("/")[2] for d in [read, *others]}
    assert first["instances"][0] == {
        "id": "5e4d3c2b-aaaa-4bbb-8ccc-b7fe18ccff30",
        "org": "ttd",
        "app": "skjema-a",
        "isRead": True,
        "currentTaskId": "Task_1",
        "currentTaskName": None,
        "completedAt": None,
        "archivedAt": "2024-01-05T00:00:00Z",
        "softDeletedAt": None,
        "hardDeletedAt": None,
        "confirmedAt": "2024-01-06T00:00:00Z",
        "createdAt": "2024-01-01T10:00:00Z",
        "lastChangedAt": "2024-02-01T00:00:00Z",
    }
    assert [i["id"] for i in by_reference["instances"]] == ["5e4d3c2b-aaaa-4bbb-8ccc-b7fe18ccff30"]
