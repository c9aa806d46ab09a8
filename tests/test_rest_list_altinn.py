"""GET /storage/api/v1/instances as Altinn's InstancesController.GetInstances answers it: who
must name what, X-Ai-InstanceOwnerIdentifier, and visibleAfter. Cases ported from Altinn
Storage's InstancesControllerTests are named in a comment."""

import pytest

from tests.conftest import org_token, user_token
from tests.factories import make_instance
from tests.rest import STORAGE, ok, problem
from tests.test_authorization import CROSS_ORG_POLICIES

HEADER = "X-Ai-InstanceOwnerIdentifier"
PERSON = make_instance(party_id="1337", instanceOwner={"partyId": "1337", "personNumber": "33312321321"})
COMPANY = make_instance(party_id="500", instanceOwner={"partyId": "500", "organisationNumber": "333123213"})
LATER = make_instance(party_id="1337", visibleAfter="2999-01-01T00:00:00Z")
ROLES = [{"userId": "3", "partyId": "500", "roles": ["DAGL"]}]


async def listed(gw, url: str, headers: dict[str, str] | None = None) -> list[str]:
    body = await ok(gw, "GET", url, "QueryResponse", token=user_token("3", "1337"), headers=headers or {})
    return sorted(i["id"] for i in body["instances"])


async def test_the_identifier_header_lists_the_party_that_stored_instances_record(gateway_with):
    # InstanceQueryParametersTests.ParseInstanceOwnerIdentifier_ValidPerson_ReturnsPerson,
    # ParseInstanceOwnerIdentifier_ValidOrganisation_ReturnsOrgNo
    # GetMany_UserRequestsInstancesNoPartyIdDefinedAndWithPerson_ReturnsOK,
    # GetMany_UserRequestsInstancesNoPartyIdDefinedAndWithOrganisation_ReturnsOK
    async with gateway_with([PERSON, COMPANY], ROLES) as gw:
        assert await listed(gw, STORAGE, {HEADER: "Person:33312321321"}) == [PERSON["id"]]
        assert await listed(gw, STORAGE, {HEADER: "organisation: 333123213"}) == [COMPANY["id"]]
        # GetEmptyListOfInstances_UserRequestsInstancesNoPartyIdDefinedAndWithOrganisation_ReturnsOK
        assert await listed(gw, STORAGE, {HEADER: "Organisation:999999999"}) == []
        assert await listed(gw, STORAGE, {HEADER: "SubUnit:123"}) == []


BAD_IDENTIFIERS = [
    # GetMany_UserRequestsInstancesNoPartyIdButWithWrongInstanceOwnerIdDefined_ReturnsBadRequest,
    # InstanceQueryParametersTests.ParseInstanceOwnerIdentifier_UnknownOrMalformed_ReturnsInvalid
    ("", "something:3312321321", "Invalid InstanceOwnerIdentifier."),
    ("", "33312321321", "Invalid InstanceOwnerIdentifier."),
    # GetMany_UserRequestsInstancesNoPartyIdDefinedAndWithInvalidOrganisation_ReturnsBadRequest,
    # GetMany_UserRequestsInstancesNoPartyIdDefinedAndWithInvalidPerson_ReturnsBadRequest;
    # InstanceQueryParametersTests.ParseInstanceOwnerIdentifier_OrganisationWrongLength_ReturnsError,
    # ParseInstanceOwnerIdentifier_PersonWrongLength_ReturnsError
    ("", "Organisation:33312", "Organization number needs to be exactly 9 digits."),
    ("", "Person:33312", "Person number needs to be exactly 11 digits."),
    # GetMany_UserRequestsInstancesWithPartyIdDefinedAndWithPerson_ReturnsBadRequest
    (
        "?instanceOwner.partyId=1600",
        "Person:33312321321",
        "Both InstanceOwner.PartyId and InstanceOwnerIdentifier cannot be present at the same time.",
    ),
]


@pytest.mark.parametrize(("query", "identifier", "message"), BAD_IDENTIFIERS)
async def test_a_bad_identifier_is_a_400_with_altinns_words(gateway_with, query, identifier, message):
    async with gateway_with([PERSON]) as gw:
        body = await problem(
            gw, "GET", STORAGE + query, 400, token=user_token("3", "1337"), headers={HEADER: identifier}
        )
    assert body["detail"] == message
    assert list(body["errors"]) == [HEADER]


async def test_an_end_user_must_name_an_owner(gateway_with):
    # GetMany_UserRequestsInstancesNoPartyIdDefined_ReturnsBadRequest
    async with gateway_with([PERSON]) as gw:
        body = await problem(gw, "GET", STORAGE, 400, token=user_token("3", "1337"))
    assert body["detail"] == "Either InstanceOwnerPartyId or InstanceOwnerIdentifier need to be defined."


async def test_a_service_owner_must_name_an_org_or_app(gateway_with):
    # GetMany_OrgRequestsInstancesNoOrgDefined_ReturnsBadRequest
    async with gateway_with([PERSON]) as gw:
        body = await problem(gw, "GET", STORAGE, 400, token=org_token("ttd"))
        assert body["detail"] == "Org or AppId must be defined."
        await ok(gw, "GET", f"{STORAGE}?appId=ttd/skjema-a", "QueryResponse", token=org_token("ttd"))


async def test_end_users_list_instances_before_their_visible_after_as_in_altinn(gateway_with):
    # Altinn's GetInstances filters no visibleAfter (only its message box does); GraphQL hides them.
    async with gateway_with([PERSON, LATER]) as gw:
        assert await listed(gw, f"{STORAGE}?instanceOwner.partyId=1337") == sorted([PERSON["id"], LATER["id"]])
        query = "{ instances(first: 10) { nodes { id } } }"
        data = await gw.data(query, token=user_token("3", "1337"))
    assert [n["id"] for n in data["instances"]["nodes"]] == [PERSON["id"]]


CROSS_ORG = [
    # GetMany_QueryingDifferentOrgThanInClaims_ReturnsOkIfDifferentOrgIsAuthenticatedWithPolicyFile
    ("skd", "appId=ttd/delt", 200),
    # GetMany_QueryingDifferentOrgThanInClaims_ReturnsForbiddenIfDifferentOrgIsNotAuthenticatedWithPolicyFile
    ("skd", "appId=ttd/privat", 403),
    ("skd", "org=ttd", 400),  # AuthorizeCrossOrgAccess: "AppId must be defined."
    # GetMany_QueryingSameOrgAsInClaims_ReturnsOk
    ("ttd", "appId=ttd/privat", 200),
]


@pytest.mark.parametrize(("org", "query", "status"), CROSS_ORG)
async def test_another_orgs_app_is_listed_by_app_and_with_its_policys_permit(gateway_with, org, query, status):
    documents = [make_instance(app_id="ttd/delt", party_id="500"), make_instance(app_id="ttd/privat", party_id="500")]
    async with gateway_with(documents, policy_dir=CROSS_ORG_POLICIES) as gw:
        url, token = f"{STORAGE}?{query}", org_token(org, org_number="974761076")
        if status == 200:
            assert (await ok(gw, "GET", url, "QueryResponse", token=token))["count"] == 1
        else:
            body = await problem(gw, "GET", url, status, token=token)
            assert status == 403 or body["detail"] == "AppId must be defined."


async def test_the_sync_adapter_lists_another_orgs_app_whatever_its_policy(gateway_with):
    # GetMany_QueryingDifferentOrgThanInClaims_ReturnsOKIfSyncAdapter, GetMany_SyncAdapterScope_OK
    documents = [make_instance(app_id="ttd/privat", party_id="500")]
    async with gateway_with(documents, policy_dir=CROSS_ORG_POLICIES) as gw:
        token = org_token("digdir", scopes=[], sync_adapter=True)
        for query in ("appId=ttd/privat", "org=ttd"):
            assert (await ok(gw, "GET", f"{STORAGE}?{query}", "QueryResponse", token=token))["count"] == 1
