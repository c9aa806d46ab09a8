"""Scopes as Altinn Storage applies them, over GraphQL and REST: none for end users and system
users; the service owner's read scope for its lists alone, read from `urn:altinn:scope` before
`scope`; the sync adapter's scope reading everything and standing in for the policy's read,
write and delete. System users act with the roles party-roles grants their id."""

from datetime import UTC, datetime, timedelta

import jwt

from app.authorization.identity import SERVICE_OWNER_READ, SERVICE_OWNER_WRITE
from tests.conftest import TEST_SECRET, org_token, user_token
from tests.rest import STORAGE, call, ok, problem
from tests.test_authorization import DAGL_SEES, DOCUMENTS, ID, LIST, ROLES, TTD_SEES, error_code, names_of

SYSTEM_USER = "49913a53-0bf9-47fc-9cad-6aa3dc825008"
SYSTEM_USER_OWNER = "310000001"
EVERY_ORG_SEES = TTD_SEES | {"skd-own"}
# Altinn's REST list, unlike GraphQL, shows end users instances before their visibleAfter and
# app owners their hard-deleted ones (tests/test_rest_list_altinn.py).
DAGL_LISTS = DAGL_SEES | {"visible-later"}
TTD_LISTS = TTD_SEES | {"hard-deleted"}


def system_user_token() -> str:
    return user_token(user_id=None, party_id=None, system_user_id=SYSTEM_USER, system_user_org_number=SYSTEM_USER_OWNER)


async def listed(gw, token: str) -> set[str] | str:
    """The names `instances` lists for this token, or its error code."""
    body = await gw.query(LIST, token=token)
    if "errors" in body:
        return error_code(body)
    return names_of([n["id"] for n in body["data"]["instances"]["nodes"]])


async def rest_listed(gw, query: str, token: str) -> set[str]:
    page = await ok(gw, "GET", f"{STORAGE}?{query}", "QueryResponse", token=token)
    return names_of([i["id"] for i in page["instances"]])


def path(name: str) -> str:
    return f"{STORAGE}/{ID[name]}"


async def test_end_users_and_system_users_need_no_scope(gateway_with):
    system_user_roles = [{"userId": SYSTEM_USER, "partyId": "500", "roles": ["DAGL"]}]
    async with gateway_with(list(DOCUMENTS.values()), ROLES + system_user_roles) as gw:
        for token in (user_token("1", "1", scopes=[]), system_user_token()):
            assert await listed(gw, token) == DAGL_SEES
            assert await rest_listed(gw, "instanceOwner.partyId=500", token) == DAGL_LISTS
            await ok(gw, "GET", path("a-dagl"), token=token)
            await ok(gw, "PUT", f"{path('a-dagl')}/readstatus?status=Read", token=token)


async def test_a_system_users_changes_are_recorded_as_its_owners(gateway_with):
    system_user_roles = [{"userId": SYSTEM_USER, "partyId": "500", "roles": ["DAGL"]}]
    async with gateway_with(list(DOCUMENTS.values()), system_user_roles) as gw:
        deleted = await ok(gw, "DELETE", path("a-dagl"), token=system_user_token())
    assert deleted["lastChangedBy"] == SYSTEM_USER_OWNER


async def test_a_service_owner_lists_with_the_read_scope_alone_and_reads_one_instance_by_its_policy(gateway_with):
    write_only = org_token(scopes=[SERVICE_OWNER_WRITE])
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        assert await listed(gw, write_only) == "FORBIDDEN"
        refused = await problem(gw, "GET", f"{STORAGE}?org=ttd", 403, token=write_only)
        assert refused["detail"] == f"a service owner lists instances only with the scope {SERVICE_OWNER_READ}"
        await ok(gw, "GET", path("a-dagl"), token=write_only)
        await ok(gw, "DELETE", path("a-dagl"), token=write_only)


async def test_urn_altinn_scope_is_read_before_scope(gateway_with):
    def token(**scopes: str) -> str:
        claims = {"urn:altinn:org": "ttd", "exp": datetime.now(UTC) + timedelta(hours=1), **scopes}
        return jwt.encode(claims, TEST_SECRET, algorithm="HS256")

    exchanged = org_token(scopes=[SERVICE_OWNER_READ], scope_claim="urn:altinn:scope")
    both = token(**{"urn:altinn:scope": SERVICE_OWNER_WRITE, "scope": SERVICE_OWNER_READ})
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        assert await listed(gw, exchanged) == TTD_SEES
        assert await rest_listed(gw, "org=ttd", exchanged) == TTD_LISTS
        assert await listed(gw, both) == "FORBIDDEN"
        assert await listed(gw, token(scope=SERVICE_OWNER_READ.upper())) == TTD_SEES  # as Altinn, ignoring case


async def test_the_sync_adapter_reads_everything_and_stands_in_for_read_write_and_delete(gateway_with):
    adapter = org_token("digdir", scopes=[], sync_adapter=True)  # no policy permits digdir anything
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        assert await listed(gw, adapter) == EVERY_ORG_SEES
        assert await rest_listed(gw, "org=ttd", adapter) == TTD_LISTS
        await ok(gw, "GET", path("hard-deleted"), token=org_token("digdir", sync_adapter=True))
        await ok(gw, "PUT", f"{path('a-dagl')}/readstatus?status=Read", token=adapter)
        await ok(gw, "DELETE", path("a-dagl"), token=adapter)
        # confirming complete is no read, write or delete: the policy decides, and denies digdir
        await problem(gw, "POST", f"{path('b-dagl')}/complete", 403, token=adapter)
        # an end user holding the scope reads what its roles do not grant
        await ok(gw, "GET", path("a-nobody"), token=user_token("2", "2", sync_adapter=True))
        assert (await call(gw, "GET", path("a-nobody"), token=user_token("2", "2"))).status_code in (403, 404)
