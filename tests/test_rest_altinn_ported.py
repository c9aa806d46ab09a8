"""Altinn Storage's own tests of the calls the gateway serves, ported: our data, Altinn's
expectations (status, body, order). Each test names the Altinn cases it ports; where the
gateway answers otherwise on purpose, the comment says so (README, "Deliberate differences")."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.conftest import org_token, user_token
from tests.factories import make_data_element, make_instance
from tests.rest import STORAGE, call, ok, problem

DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
SYSTEM_USER = "49913a53-0bf9-47fc-9cad-6aa3dc825008"
SYNC_ADAPTER = org_token("digdir", scopes=[], sync_adapter=True)
READ_SCOPE = "altinn:serviceowner/instances.read"
SBL = "/storage/api/v1/sbl/instances"


def guid_of(document: dict) -> str:
    return document["id"].partition("/")[2]


# --- InstancesControllerTests: Get and GetByGuid ------------------------------------------------


@pytest.mark.parametrize("scope", ["", "altinn:portal/enduser", "altinn:instances.read", "something"])
async def test_an_end_user_reads_one_instance_whatever_the_tokens_scope(gateway_with, scope):
    # InstancesControllerTests.Get_One_Ok and GetByGuid_One_Ok (their four scopes), Get_One_Twice_Ok
    document = make_instance(party_id="500")
    token = user_token("1", "1", scopes=[scope] if scope else [])
    async with gateway_with([document], DAGL) as gw:
        first = await ok(gw, "GET", f"{STORAGE}/{document['id']}", token=token)
        twice = await ok(gw, "GET", f"{STORAGE}/{document['id']}", token=token)
        by_guid = await ok(gw, "GET", f"{STORAGE}/{guid_of(document)}", token=token)
    assert first["instanceOwner"]["partyId"] == "500"
    assert first == twice == by_guid


async def test_reading_one_instance_is_refused_as_altinn_refuses_it(gateway_with):
    # InstancesControllerTests.Get_UserHasTooLowAuthLv_ReturnsStatusForbidden,
    # GetByGuid_UserHasTooLowAuthLv_ReturnsStatusForbidden, Get_ReponseIsDeny_ReturnsStatusForbidden
    document = make_instance(party_id="500")
    async with gateway_with([document], DAGL) as gw:
        for url in (f"{STORAGE}/{document['id']}", f"{STORAGE}/{guid_of(document)}"):
            await problem(gw, "GET", url, 403, token=user_token("1", "1", auth_level=0))
            await problem(gw, "GET", url, 403, token=user_token("2", "50001"))


async def test_the_sync_adapter_reads_any_orgs_instance(gateway_with):
    # InstancesControllerTests.Get_One_With_SyncAdapterScope_Ok, GetByGuid_One_With_SyncAdapterScope_Ok
    document = make_instance(party_id="500")
    async with gateway_with([document]) as gw:
        with_party = await ok(gw, "GET", f"{STORAGE}/{document['id']}", token=SYNC_ADAPTER)
        by_guid = await ok(gw, "GET", f"{STORAGE}/{guid_of(document)}", token=SYNC_ADAPTER)
    assert with_party["id"] == by_guid["id"] == document["id"]


async def test_an_end_user_reads_an_instance_before_its_visible_after_as_in_altinn(gateway_with):
    # Altinn's InstancesController.Get asks the policy only; its message box hides what is not
    # yet visible, and so does GraphQL (README, "GraphQL and REST: where they differ").
    later = make_instance(party_id="500", visibleAfter="2999-01-01T00:00:00Z")
    async with gateway_with([later], DAGL) as gw:
        token = user_token("1", "1")
        read = await ok(gw, "GET", f"{STORAGE}/{later['id']}", token=token)
        by_guid = await ok(gw, "GET", f"{STORAGE}/{guid_of(later)}", token=token)
        events = await ok(gw, "GET", f"{STORAGE}/{later['id']}/events", "InstanceEventList", token=token)
        by_graphql = await gw.data("query($id: ID!) { instance(id: $id) { id } }", {"id": later["id"]}, token=token)
        # changes are GraphQL's actions, which hide it: refused (a deliberate difference)
        await problem(gw, "DELETE", f"{STORAGE}/{later['id']}", 403, token=token)
    assert read["id"] == by_guid["id"] == later["id"]
    assert events == {"instanceEvents": []}
    assert by_graphql == {"instance": None}


# --- InstancesControllerTests: Delete -----------------------------------------------------------


async def test_a_hard_delete_sets_both_deletion_times_alike(gateway_with):
    # InstancesControllerTests.Delete_OrgHardDeletesInstance_ReturnedInstanceHasStatusBothSoftAndHardDeleted,
    # Delete_With_SyncAdapterScope_Ok
    by_owner, by_adapter = make_instance(party_id="500"), make_instance(party_id="500")
    async with gateway_with([by_owner, by_adapter]) as gw:
        owners = await ok(gw, "DELETE", f"{STORAGE}/{by_owner['id']}?hard=true")
        adapters = await ok(gw, "DELETE", f"{STORAGE}/{by_adapter['id']}?hard=true", token=SYNC_ADAPTER)
    for deleted in (owners["status"], adapters["status"]):
        assert deleted["hardDeleted"] is not None
        assert deleted["hardDeleted"] == deleted["softDeleted"]
        assert deleted["isHardDeleted"] is deleted["isSoftDeleted"] is True


async def test_an_end_users_delete_is_soft_unless_hard_is_asked(gateway_with):
    # InstancesControllerTests.Delete_EndUserSoftDeletesInstance_ReturnedInstanceHasStatusOnlySoftDeleted
    document = make_instance(party_id="500")
    async with gateway_with([document], DAGL) as gw:
        deleted = await ok(gw, "DELETE", f"{STORAGE}/{document['id']}", token=user_token("1", "1"))
    assert deleted["status"]["hardDeleted"] is None
    assert deleted["status"]["softDeleted"] is not None


async def test_a_delete_changes_the_deletion_and_leaves_the_rest_of_the_status(gateway_with):
    # InstanceTests.Instance_Update_Status_Ok: the soft delete's write keeps isArchived and the substatus
    status = {
        "isArchived": True,
        "archived": "2024-01-03T00:00:00Z",
        "substatus": {"label": "x", "description": "desc "},
    }
    document = make_instance(party_id="500", status=status)
    async with gateway_with([document]) as gw:
        deleted = (await ok(gw, "DELETE", f"{STORAGE}/{document['id']}"))["status"]
    assert deleted["isSoftDeleted"] is True
    assert (deleted["isArchived"], deleted["archived"], deleted["substatus"]) == (
        True,
        status["archived"],
        status["substatus"],
    )


@pytest.mark.parametrize("hard", ["true", "false"])
async def test_an_app_may_keep_its_archived_instances_from_deletion(gateway_with, hard):
    # InstancesControllerTests (ttd/skjema-b keeps an archived instance for 30 days):
    # Delete_EndUserSoftDeletesInstancePreventedFromDeletion_ReturnsStatusForbidden (hard and soft),
    # Delete_EndUserSoftDeletesInstancePreventedFromDeletion_InstanceNotArchived_ReturnsSuccess,
    # Delete_EndUserHardDeletesInstancePreventedFromDeletion_InstanceNotArchived_ReturnsSuccess
    archived = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    kept = make_instance(app_id="ttd/skjema-b", party_id="500", status={"isArchived": True, "archived": archived})
    active = make_instance(app_id="ttd/skjema-b", party_id="500")
    async with gateway_with([kept, active], DAGL) as gw:
        token = user_token("1", "1")
        refused = await problem(gw, "DELETE", f"{STORAGE}/{kept['id']}?hard={hard}", 403, token=token)
        deleted = await ok(gw, "DELETE", f"{STORAGE}/{active['id']}?hard={hard}", token=token)
    assert refused["detail"] == "Instance cannot be deleted yet due to application restrictions."
    assert deleted["status"]["softDeleted"] is not None
    assert (deleted["status"]["hardDeleted"] == deleted["status"]["softDeleted"]) is (hard == "true")


# --- InstancesControllerTests: GetInstances (the list) -------------------------------------------


async def lists(gw, query: str, token: str, headers: dict[str, str] | None = None) -> list[str]:
    page = await ok(gw, "GET", f"{STORAGE}?{query}", "QueryResponse", token=token, headers=headers or {})
    assert page["count"] == len(page["instances"])
    return sorted(i["id"] for i in page["instances"])


PARTY_500 = [
    make_instance(party_id="500"),
    make_instance(app_id="ttd/skjema-b", party_id="500"),
    make_instance(app_id="ttd/melding", party_id="500"),
    make_instance(app_id="skd/mva-melding", party_id="500"),  # no policy in the gateway: nobody's to read
    make_instance(party_id="500", status={"isHardDeleted": True, "isSoftDeleted": True}),
    make_instance(party_id="600"),
]
READABLE_OF_500 = sorted(d["id"] for d in PARTY_500[:3])


async def test_an_end_user_lists_what_the_policy_lets_them_read_of_a_party(gateway_with):
    # InstancesControllerTests.GetMany_PartyRequestsOwnInstances_Ok (the user's own party),
    # GetMany_UserRequestsAnotherPartiesInstances_Ok (a party the user has a role for),
    # GetMany_UserRequestsInstances_HardDeletedFalseQueryParamIncluded (never the hard-deleted)
    async with gateway_with(PARTY_500, DAGL) as gw:
        own = await lists(gw, "instanceOwner.partyId=500", user_token("9", "500", auth_level=4))
        another = await lists(gw, "instanceOwner.partyId=500", user_token("1", "1"))
        nothing = await lists(gw, "instanceOwner.partyId=600", user_token("1", "1"))
    assert own == another == READABLE_OF_500
    assert nothing == []


async def test_a_system_user_lists_what_its_roles_let_it_read(gateway_with):
    # InstancesControllerTests.GetMany_SystemUserRequestsInstances_SystemUserHasAccess_Ok
    token = user_token(user_id=None, party_id=None, system_user_id=SYSTEM_USER, system_user_org_number="725736800")
    roles = [{"userId": SYSTEM_USER, "partyId": "500", "roles": ["DAGL"]}]
    async with gateway_with(PARTY_500, roles) as gw:
        assert await lists(gw, "instanceOwner.partyId=500", token) == READABLE_OF_500


async def test_a_service_owner_lists_an_app_with_the_read_scope_in_either_claim(gateway_with):
    # InstancesControllerTests.GetMany_OrgRequestsAllAppInstances_Ok,
    # GetMany_OrgRequestsAllAppInstancesAlternativeScope_Ok (Altinn's test sends the same scope
    # twice; here the other claim, urn:altinn:scope), GetMany_IncorrectScope_ReturnsForbidden
    async with gateway_with(PARTY_500) as gw:
        in_scope = await lists(gw, "appId=ttd/skjema-a", org_token("ttd", scopes=[READ_SCOPE]))
        exchanged = org_token("ttd", scopes=[READ_SCOPE], scope_claim="urn:altinn:scope")
        in_altinn_scope = await lists(gw, "appId=ttd/skjema-a", exchanged)
        write_only = org_token("ttd", scopes=["altinn:serviceowner/instances.write"])
        await problem(gw, "GET", f"{STORAGE}?org=ttd", 403, token=write_only)
    # the app owner sees its hard-deleted instances too, as in Altinn
    assert in_scope == in_altinn_scope == sorted([PARTY_500[0]["id"], PARTY_500[4]["id"], PARTY_500[5]["id"]])


async def test_self_carries_the_continuation_token_given(gateway_with):
    # InstancesControllerTests.GetMany_ContainsContinuationToken_CorrectContTokenInSelfLink
    documents = [make_instance(party_id="500", lastChanged=f"2024-01-0{n}T00:00:00Z") for n in range(1, 4)]
    async with gateway_with(documents, DAGL) as gw:
        token = user_token("1", "1")
        first = await ok(gw, "GET", f"{STORAGE}?instanceOwner.partyId=500&size=1", "QueryResponse", token=token)
        cursor = first["next"].rpartition("continuationToken=")[2]
        second = await ok(gw, "GET", first["next"], "QueryResponse", token=token)
    assert "continuationToken" not in first["self"]
    assert second["self"].endswith(f"?instanceOwner.partyId=500&size=1&continuationToken={cursor}")


# --- InstancesControllerTests: complete, readstatus, substatus -----------------------------------


async def test_the_app_owner_confirms_complete_once(gateway_with):
    # InstancesControllerTests.AddCompleteConfirmation_PostAsValidAppOwner_RespondsWithUpdatedInstance,
    # AddCompleteConfirmation_PostAsValidAppOwnerTwice_RespondsWithSameInstance,
    # AddCompleteConfirmation_AttemptToCompleteInstanceAsUser_ReturnsForbidden (another org, brg);
    # InstanceTests.Instance_Update_CompleteConfirmations_PrimaryOrg_Ok,
    # Instance_Update_CompleteConfirmations_OtherOrg_Ok (a confirmation joins the others')
    confirmed_on = "2024-01-02T10:06:00Z"
    fresh = make_instance(party_id="500", completeConfirmations=[{"stakeholderId": "skd", "confirmedOn": confirmed_on}])
    done = make_instance(party_id="500", completeConfirmations=[{"stakeholderId": "ttd", "confirmedOn": confirmed_on}])
    async with gateway_with([fresh, done]) as gw:
        owner = org_token("ttd", org_number="111111111")
        confirmed = await ok(gw, "POST", f"{STORAGE}/{fresh['id']}/complete", token=owner)
        again = await ok(gw, "POST", f"{STORAGE}/{done['id']}/complete", token=owner)
        await problem(gw, "POST", f"{STORAGE}/{fresh['id']}/complete", 403, token=org_token("brg"))
    assert (confirmed["id"], confirmed["lastChangedBy"]) == (fresh["id"], "111111111")
    assert [c["stakeholderId"] for c in confirmed["completeConfirmations"]] == ["skd", "ttd"]
    assert again["lastChangedBy"] == "500"  # the stored instance, unchanged
    assert again["completeConfirmations"] == [{"stakeholderId": "ttd", "confirmedOn": confirmed_on}]


async def test_completing_an_instance_that_is_not_there_is_404(gateway_with):
    # InstancesControllerTests:
    # AddCompleteConfirmation_CompleteNonExistentInstance_ExceptionDuringAuthorization_RespondsWithInternalServerError
    # Altinn's 500 is a clear 404 here (a deliberate difference)
    async with gateway_with([]) as gw:
        body = await problem(gw, "POST", f"{STORAGE}/500/406d1e74-e4f5-4df1-833f-06ef16246a6f/complete", 404)
    assert body["code"] == "NOT_FOUND"


async def test_an_end_user_sets_the_read_status(gateway_with):
    # InstancesControllerTests.UpdateReadStatus_SetInitialReadStatus_ReturnsUpdatedInstance,
    # UpdateReadStatus_FromReadToUnread_ReturnsUpdatedInstance, UpdateReadStatus_InvalidStatus_ReturnsBadRequest
    # (ttd/melding asks for authentication level 2, as Altinn's test token has)
    unset = make_instance(app_id="ttd/melding", party_id="500")
    read = make_instance(app_id="ttd/melding", party_id="500", status={"readStatus": "Read"})
    async with gateway_with([unset, read], DAGL) as gw:
        token = user_token("1", "1", auth_level=2)
        first = await ok(gw, "PUT", f"{STORAGE}/{unset['id']}/readstatus?status=read", token=token)
        back = await ok(gw, "PUT", f"{STORAGE}/{read['id']}/readstatus?status=unread", token=token)
        bad = await problem(gw, "PUT", f"{STORAGE}/{read['id']}/readstatus?status=invalid", 400, token=token)
    assert (first["status"]["readStatus"], back["status"]["readStatus"]) == ("Read", "Unread")
    assert bad["detail"] == "Invalid read status: invalid. Accepted types include: Unread, Read, UpdatedSinceLastReview"


async def test_the_app_owner_sets_the_substatus(gateway_with):
    # InstancesControllerTests.UpdateSubstatus_SetInitialSubstatus_ReturnsUpdatedInstance,
    # UpdateSubstatus_OverwriteSubstatus_DescriptionIsEmpty,
    # UpdateSubstatus_EndUserTriestoSetSubstatus_ReturnsForbidden, UpdateSubstatus_MissingLabel_ReturnsBadRequest;
    # InstanceTests.Instance_Update_Substatus_Ok (replaced whole; the rest of the status stays)
    fresh = make_instance(party_id="500")
    old = {"isArchived": True, "archived": "2024-01-03T00:00:00Z", "substatus": {"label": "Old", "description": "Old"}}
    labelled = make_instance(party_id="500", status=old)
    approved = {"label": "Substatus.Approved.Label", "description": "Substatus.Approved.Description"}
    async with gateway_with([fresh, labelled], DAGL) as gw:
        owner = org_token("ttd", org_number="111111111")
        set_first = await ok(gw, "PUT", f"{STORAGE}/{fresh['id']}/substatus", token=owner, json=approved)
        overwritten = await ok(
            gw,
            "PUT",
            f"{STORAGE}/{labelled['id']}/substatus",
            token=owner,
            json={"label": approved["label"], "description": None},
        )
        url = f"{STORAGE}/{fresh['id']}/substatus"
        await problem(gw, "PUT", url, 403, token=user_token("1", "1"), json=approved)
        await problem(gw, "PUT", url, 400, token=owner, json={"label": None, "description": approved["description"]})
    assert set_first["status"]["substatus"] == approved
    assert overwritten["status"]["substatus"] == {"label": approved["label"], "description": None}
    assert (overwritten["status"]["isArchived"], overwritten["status"]["archived"]) == (True, old["archived"])
    for changed in (set_first, overwritten):
        assert changed["lastChangedBy"] == "111111111"
        assert datetime.fromisoformat(changed["lastChanged"]) > datetime.now(UTC) - timedelta(minutes=5)


# --- InstanceTests (the PostgreSQL repository's query) ------------------------------------------


async def ids(gw, query: str) -> list[str]:
    page = await ok(gw, "GET", f"{STORAGE}?{query}", "QueryResponse", token=org_token("ttd", scopes=[READ_SCOPE]))
    return [i["id"] for i in page["instances"]]


# Altinn's TestData.Instance_1_1 .. 1_3: one app, changed in this order.
FIRST, SECOND, THIRD = (
    make_instance(party_id=party, lastChanged=changed)
    for party, changed in (
        ("50000000", "2019-08-20T19:19:22.213Z"),
        ("50000000", "2019-08-20T21:19:22.213Z"),
        ("50000001", "2019-08-20T22:19:22.213Z"),
    )
)


async def test_the_repositorys_query_by_party_and_app(gateway_with):
    # InstanceTests.Instance_GetInstancesFromQuery_Ok, Instance_GetInstancesFromQuery_AppId_Ok,
    # Instance_GetInstancesFromQuery_WithIncludeDataElementsAsQueryParam_Ok, Instance_GetOne_Ok (with its data)
    other_app = make_instance(app_id="ttd/skjema-b", party_id="50000001")
    with_data = {**SECOND, "data": [make_data_element(guid_of(SECOND))]}
    async with gateway_with([FIRST, with_data, THIRD, other_app]) as gw:
        all_three = await ids(gw, "appId=ttd/skjema-a")
        one = await ids(gw, "appId=ttd/skjema-a&instanceOwner.partyId=50000001")
        by_org = await ids(gw, "org=ttd")
        page = await ok(gw, "GET", f"{STORAGE}?org=ttd&includeDataElements=true", "QueryResponse")
        read_one = await ok(gw, "GET", f"{STORAGE}/{SECOND['id']}")
    assert all_three == [THIRD["id"], SECOND["id"], FIRST["id"]]  # the last changed first
    assert one == [THIRD["id"]]
    assert len(by_org) == 4
    assert {i["id"]: len(i["data"]) for i in page["instances"]}[SECOND["id"]] == len(read_one["data"]) == 1


async def test_the_repositorys_continuation(gateway_with):
    # InstanceTests.Instance_GetInstancesFromQuery_Continuation_Ok: size 1, `asc:`; the third page
    # asks for 2 with the second page's token, gets the last one and no token. (Altinn's tokens
    # compare in order; the gateway's are opaque, signed cursors.)
    async with gateway_with([FIRST, SECOND, THIRD]) as gw:
        token = org_token("ttd", scopes=[READ_SCOPE])
        first = await ok(gw, "GET", f"{STORAGE}?org=ttd&size=1&order=asc:", "QueryResponse", token=token)
        second = await ok(gw, "GET", first["next"], "QueryResponse", token=token)
        cursor = second["next"].rpartition("continuationToken=")[2]
        third = await ok(
            gw, "GET", f"{STORAGE}?org=ttd&size=2&order=asc:&continuationToken={cursor}", "QueryResponse", token=token
        )
    assert [p["instances"][0]["id"] for p in (first, second, third)] == [FIRST["id"], SECOND["id"], THIRD["id"]]
    assert (third["count"], "next" in third) == (1, False)


@pytest.mark.parametrize(
    ("stakeholder", "excluded", "listed"),
    [
        # InstanceTests; Instance_Confirmed_IsSetCorrectly: the org's own confirmation is confirmed=false
        ("ttd", "ttd", False),  # Instance_GetInstancesFromQuery_CompleteConfirmations_PrimaryOrg_Match_Ok
        ("ttd", "skd", True),  # Instance_GetInstancesFromQuery_CompleteConfirmations_PrimaryOrg_NoMatch_Ok
        ("skd", "skd", False),  # Instance_GetInstancesFromQuery_CompleteConfirmations_OtherOrg_Match_Ok
        ("skd", "ttd", True),  # Instance_GetInstancesFromQuery_CompleteConfirmations_OtherOrg_NoMatch_Ok
    ],
)
async def test_exclude_confirmed_by(gateway_with, stakeholder, excluded, listed):
    confirmed = make_instance(
        completeConfirmations=[{"stakeholderId": stakeholder, "confirmedOn": "2024-01-02T00:00:00Z"}]
    )
    async with gateway_with([confirmed]) as gw:
        found = await ids(gw, f"org=ttd&excludeConfirmedBy={excluded}")
        if excluded == "ttd":
            assert await ids(gw, "org=ttd&confirmed=false") == found
    assert found == ([confirmed["id"]] if listed else [])


async def test_a_malformed_date_is_a_400_where_altinns_query_fails(gateway_with):
    # InstanceTests.Instance_GetInstancesFromQuery_InvalidDate,
    # Instance_GetInstancesFromQuery_WithIncludeDataElementsAsQueryParam_InvalidDate
    # (process.ended=true: Altinn's query fails, its controller answers 500; here a 400 naming it)
    async with gateway_with([FIRST]) as gw:
        body = await problem(gw, "GET", f"{STORAGE}?org=ttd&process.ended=true", 400)
    assert list(body["errors"]) == ["process.ended"]


# --- k6: test/k6/src/tests/instances.js and messageboxinstances.js -------------------------------


async def test_k6s_end_user_round_trip(gateway_with):
    # k6 instances.js TC02_GetInstanceById, TC03_GetInstances_PartyFilter, TC04_GetInstances_IsArchivedFilter,
    # TC05_SetReadStatus, TC10_GetInstances_ByPersonNumber, TC11_SoftDeleteInstance, TC99_HardDeleteInstance;
    # messageboxinstances.js TC06_UndeleteInstance (the body is `true`; its other steps call the message
    # box's own GET, DELETE and events, which the gateway does not serve)
    owner = {"partyId": "500", "personNumber": "01017012345"}
    document = make_instance(party_id="500", instanceOwner=owner)
    archived = make_instance(
        party_id="500", instanceOwner=owner, status={"isArchived": True, "archived": "2024-01-03T00:00:00Z"}
    )
    async with gateway_with([document, archived], DAGL) as gw:
        token, url = user_token("1", "1"), f"{STORAGE}/{document['id']}"
        assert (await ok(gw, "GET", url, token=token))["id"] == document["id"]
        party = await ok(gw, "GET", f"{STORAGE}?instanceOwner.partyId=500", "QueryResponse", token=token)
        assert all(len(i["id"].split("/")) == 2 for i in party["instances"]) and party["count"] == 2
        only_archived = await lists(
            gw, "instanceOwner.partyId=500&status.isArchived=true&status.isSoftDeleted=false", token
        )
        assert only_archived == [archived["id"]]
        status = await ok(gw, "PUT", f"{url}/readstatus?status=UpdatedSinceLastReview", token=token)
        assert status["status"]["readStatus"] == "UpdatedSinceLastReview"
        by_person = await ok(
            gw,
            "GET",
            f"{STORAGE}?appId=ttd/skjema-a",
            "QueryResponse",
            token=token,
            headers={"X-Ai-InstanceOwnerIdentifier": "Person:01017012345"},
        )
        assert by_person["count"] > 0
        assert {i["instanceOwner"]["personNumber"] for i in by_person["instances"]} == {"01017012345"}
        assert (await ok(gw, "DELETE", f"{url}?hard=false", token=token))["status"]["softDeleted"] is not None
        restored = await call(gw, "PUT", f"{SBL}/{document['id']}/undelete", token=token)
        assert (restored.status_code, restored.text) == (200, "true")
        trail = await ok(gw, "GET", f"{url}/events", "InstanceEventList", token=token)
        assert [e["eventType"] for e in trail["instanceEvents"]] == ["MessageRead", "Deleted", "Undeleted"]
        hard = await ok(gw, "DELETE", f"{url}?hard=true", token=token)
        assert hard["status"]["isHardDeleted"] is True


async def test_k6s_service_owner_round_trip(gateway_with):
    # k6 instances.js TC08_SetSubStatus, TC09_CompleteConfirmInstance, TC12_GetInstances_ByOrgNumber (its
    # listing by organisation number and hard delete; its instance is made beforehand, not posted)
    company = make_instance(party_id="500", instanceOwner={"partyId": "500", "organisationNumber": "310000001"})
    async with gateway_with([company], DAGL) as gw:
        url = f"{STORAGE}/{company['id']}"
        substatus = {"label": "This is the label", "description": "This is the description"}
        assert (await ok(gw, "PUT", f"{url}/substatus", json=substatus))["status"]["substatus"] == substatus
        assert (await call(gw, "POST", f"{url}/complete")).status_code == 200
        by_org = await ok(
            gw,
            "GET",
            f"{STORAGE}?appId=ttd/skjema-a",
            "QueryResponse",
            token=user_token("1", "1"),
            headers={"X-Ai-InstanceOwnerIdentifier": "Organisation:310000001"},
        )
        assert [i["instanceOwner"]["organisationNumber"] for i in by_org["instances"]] == ["310000001"]
        assert (await call(gw, "DELETE", f"{url}?hard=true", token=user_token("1", "1"))).status_code == 200


# --- what Altinn's clients do with `next` and the continuation token ------------------------------


async def test_app_lib_follows_next_to_the_end(gateway_with):
    # app-lib-dotnet's InstanceClient.GetInstances: the query string as it writes it (older versions
    # start with `&`), then every `next` as given, absolute, until there is none.
    documents = [make_instance(party_id="500", lastChanged=f"2024-01-{n:02}T00:00:00Z") for n in range(1, 8)]
    async with gateway_with(documents) as gw:
        page = await ok(gw, "GET", f"{STORAGE}?&appId=ttd/skjema-a&size=3", "QueryResponse")
        pages = [page]
        while page.get("next"):
            assert page["next"].startswith("http://")
            page = await ok(gw, "GET", page["next"], "QueryResponse")
            pages.append(page)
    listed = [i["id"] for p in pages for i in p["instances"]]
    assert [p["count"] for p in pages] == [3, 3, 1]
    assert listed == [d["id"] for d in reversed(documents)]


async def test_studio_passes_the_token_back_with_its_own_parameters(gateway_with):
    # Altinn Studio's AltinnStorageInstancesClient: size=10, the token as `next` gave it (URL-encoded
    # again), its filters, a .NET bool as `False`.
    documents = [make_instance(lastChanged=f"2024-01-{n:02}T00:00:00Z") for n in range(1, 13)]
    studio = "/storage/api/v1/studio/instances/ttd/skjema-a"
    async with gateway_with(documents) as gw:
        first = await ok(gw, "GET", f"{studio}?size=10&process.isComplete=False", "SimpleInstanceQueryResponse")
        token = quote(first["next"], safe="")
        query = f"size=10&continuationToken={token}&process.isComplete=False"
        second = await ok(gw, "GET", f"{studio}?{query}", "SimpleInstanceQueryResponse")
    assert (first["count"], second["count"], second["next"]) == (10, 2, None)
    assert len({i["id"] for i in first["instances"] + second["instances"]}) == 12
