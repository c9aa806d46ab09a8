"""GET /storage/api/v1/instances over HTTP: Altinn's QueryResponse, pages by continuation
token, the same filter and read predicate as GraphQL's `instances`, and clear 400s."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.authorization.identity import SERVICE_OWNER_WRITE
from app.rest.instance_query import EITHER_DELETION
from tests.conftest import org_token, user_token
from tests.factories import make_instance
from tests.rest import STORAGE, call, ok, problem

ENDED = {"started": "2024-01-01T10:00:00Z", "ended": "2024-01-03T10:00:00Z", "endEvent": "EndEvent_1"}
GONE = {"isSoftDeleted": True, "softDeleted": "2024-02-01T00:00:00Z", "isHardDeleted": True}
CONFIRMED = [{"stakeholderId": "ttd", "confirmedOn": "2024-01-04T00:00:00Z"}]


def doc(day: int, hour: int = 10, **fields: Any) -> dict[str, Any]:
    moment = f"2024-01-{day:02d}T{hour:02d}:00:00Z"
    return make_instance(created=moment, lastChanged=moment, **fields)


DOCUMENTS = [
    doc(1),
    doc(2, party_id="500"),
    doc(2, party_id="600"),  # the same lastChanged as the one before: the id breaks the tie
    doc(2, party_id="700"),
    doc(3, app_id="ttd/skjema-b", process=ENDED, status={"isArchived": True, "archived": ENDED["ended"]}),
    doc(4, party_id="500", completeConfirmations=CONFIRMED),
    doc(5, status={"isSoftDeleted": True, "softDeleted": "2024-01-06T00:00:00Z"}),
    doc(6, status=GONE),
    doc(7, app_id="skd/eget"),
]

LIST = "query($filter: InstanceFilter) { instances(filter: $filter, first: 1000) { totalCount nodes { id } } }"


async def graphql_ids(gw, instance_filter: dict[str, Any] | None, token: str | None = None) -> list[str]:
    kwargs = {"token": token} if token else {}
    data = await gw.data(LIST, {"filter": instance_filter}, **kwargs)
    return [n["id"] for n in data["instances"]["nodes"]]


async def rest_ids(gw, query: str, **kwargs: Any) -> list[str]:
    body = await ok(gw, "GET", f"{STORAGE}?{query}&size=1000", "QueryResponse", **kwargs)
    assert body["count"] == len(body["instances"])
    return [i["id"] for i in body["instances"]]


SAME_AS_GRAPHQL = [
    ("org=ttd", {"org": {"eq": "ttd"}}),
    ("appId=ttd/skjema-b", {"appId": {"eq": "ttd/skjema-b"}}),
    ("process.currentTask=Task_1", {"process": {"currentTask": {"eq": "Task_1"}}}),
    ("process.isComplete=true", {"process": {"isComplete": True}}),
    ("process.isComplete=false", {"process": {"isComplete": False}}),
    ("process.endEvent=EndEvent_1", {"process": {"endEvent": {"eq": "EndEvent_1"}}}),
    ("process.ended=lte:2024-01-03T10:00:00Z", {"process": {"ended": {"lte": "2024-01-03T10:00:00Z"}}}),
    ("instanceOwner.partyId=500", {"instanceOwner": {"partyId": {"eq": "500"}}}),
    ("created=gte:2024-01-02&created=lt:2024-01-04", {"created": {"gte": "2024-01-02", "lt": "2024-01-04"}}),
    ("lastChanged=eq:2024-01-02T10:00:00", {"lastChanged": {"eq": "2024-01-02T10:00:00Z"}}),
    ("created=gt:2024-01-02T11:00:00%2B01:00", {"created": {"gt": "2024-01-02T10:00:00Z"}}),
    ("status.isArchived=true", {"status": {"isArchived": True}}),
    ("status.isSoftDeleted=false", {"status": {"isSoftDeleted": False}}),
    ("status.isHardDeleted=true", {"status": {"isHardDeleted": True}}),
    ("excludeConfirmedBy=ttd", {"excludeConfirmedBy": "ttd"}),
    ("confirmed=true", {"not": {"excludeConfirmedBy": "ttd"}}),
    ("confirmed=false&appId=ttd/skjema-a", {"excludeConfirmedBy": "ttd", "appId": {"eq": "ttd/skjema-a"}}),
]


@pytest.mark.parametrize(("query", "instance_filter"), SAME_AS_GRAPHQL, ids=[q for q, _ in SAME_AS_GRAPHQL])
async def test_each_filter_selects_what_graphql_selects_in_the_same_order(gateway_with, query, instance_filter):
    # A service owner names its org or app (Altinn: "Org or AppId must be defined.") and, as in
    # Altinn, is shown hard-deleted instances unless it asks about them.
    if "org" not in instance_filter and "appId" not in instance_filter:
        query, instance_filter = f"{query}&org=ttd", {**instance_filter, "org": {"eq": "ttd"}}
    if "isHardDeleted" not in query:
        instance_filter = {**instance_filter, "or": EITHER_DELETION}
    async with gateway_with(DOCUMENTS) as gw:
        expected = await graphql_ids(gw, instance_filter)
        assert await rest_ids(gw, query) == expected
    assert expected  # each case selects something


async def test_no_filter_is_what_the_caller_may_see_newest_change_first(gateway_with):
    async with gateway_with(DOCUMENTS) as gw:
        everything = await rest_ids(gw, "org=ttd&order=desc:lastChanged")
        assert everything == await graphql_ids(gw, {"org": {"eq": "ttd"}, "or": EITHER_DELETION})
        # Altinn shows its app owner hard-deleted instances unless asked about them (ported from
        # InstancesControllerTests' GetMany_OrgRequestsAllInstances_Ok, which counts them)
        assert DOCUMENTS[7]["id"] in everything
        assert DOCUMENTS[7]["id"] not in await rest_ids(gw, "org=ttd&status.isHardDeleted=false")
        assert await rest_ids(gw, "org=ttd&order=asc:lastChanged") == list(reversed(everything))


async def test_the_answer_is_altinns_query_response(gateway_with):
    url = f"{STORAGE}?appId=ttd/skjema-a&created=lte:2024-01-02T10:00:00Z&process.currentTask=Task_1"
    async with gateway_with(DOCUMENTS) as gw:
        body = await ok(gw, "GET", url, "QueryResponse")
    assert list(body) == ["count", "self", "instances"]  # no `next`: the last page
    assert body["self"] == f"http://gateway{url}"
    assert body["count"] == 4
    [first, *_] = body["instances"]
    assert first["selfLinks"]["platform"] == f"http://gateway/storage/api/v1/instances/{first['id']}"
    assert first["lastChanged"] == "2024-01-02T10:00:00Z"


async def test_next_pages_through_every_instance_once_to_a_last_page_without_next(gateway_with):
    async with gateway_with(DOCUMENTS) as gw:
        expected = await graphql_ids(gw, {"org": {"eq": "ttd"}, "or": EITHER_DELETION})
        url = f"{STORAGE}?org=ttd&size=3"
        pages = []
        while url:
            body = await ok(gw, "GET", url, "QueryResponse")
            assert body["self"] == (url if url.startswith("http") else f"http://gateway{url}")
            pages.append(body)
            url = body.get("next")
    assert [p["count"] for p in pages] == [3, 3, 2]
    assert [i["id"] for p in pages for i in p["instances"]] == expected
    # Altinn's next: the same parameters, the continuation token appended last
    for page in pages[:-1]:
        parameters = parse_qsl(urlsplit(page["next"]).query)
        assert parameters[:2] == [("org", "ttd"), ("size", "3")]
        assert [name for name, _ in parameters[2:]] == ["continuationToken"]


async def test_a_token_with_changed_parameters_or_tampered_is_a_400(gateway_with):
    async with gateway_with(DOCUMENTS) as gw:
        first = await ok(gw, "GET", f"{STORAGE}?org=ttd&size=2", "QueryResponse")
        token = dict(parse_qsl(urlsplit(first["next"]).query))["continuationToken"]
        # the page size may change on the way; the filter and the order may not
        assert (await ok(gw, "GET", f"{STORAGE}?org=ttd&size=5&continuationToken={token}", "QueryResponse"))["count"]
        for url in (
            f"{STORAGE}?org=ttd&process.currentTask=Task_1&continuationToken={token}",
            f"{STORAGE}?org=ttd&order=asc:lastChanged&continuationToken={token}",
            f"{STORAGE}?org=ttd&continuationToken={token[:-2]}{'AB' if token[-2:] != 'AB' else 'CD'}",
            f"{STORAGE}?org=ttd&continuationToken=%00%FF",
        ):
            body = await problem(gw, "GET", url, 400)
            assert list(body["errors"]) == ["continuationToken"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("created=2020-09-30", "created"),
        ("created=lte:yesterday", "created"),
        ("size=1001", "size"),
        ("size=many", "size"),
        ("status.isArchived=maybe", "status.isArchived"),
        ("org=ttd&org=skd", "org"),
        ("process.currentTask=", "process.currentTask"),
        ("instanceOwner.partyId=1e3", "instanceOwner.partyId"),
        ("A3Ref=short", "A3Ref"),
        ("unknown=1", "unknown"),
    ],
)
async def test_bad_parameters_are_a_400_naming_the_parameter(gateway_with, query, parameter):
    async with gateway_with(DOCUMENTS) as gw:
        body = await problem(gw, "GET", f"{STORAGE}?{query}", 400)
    assert body["code"] == "BAD_USER_INPUT"
    assert body["title"] == "One or more validation errors occurred."
    assert list(body["errors"]) == [parameter]
    assert parameter in body["detail"]


async def test_no_token_is_401_and_no_read_scope_is_403(gateway_with):
    async with gateway_with(DOCUMENTS) as gw:
        missing = await problem(gw, "GET", f"{STORAGE}?org=ttd", 401, token=None)
        response = await call(gw, "GET", f"{STORAGE}?org=ttd", token=None)
        malformed = await problem(gw, "GET", f"{STORAGE}?org=ttd", 401, token="not-a-jwt")
        write_only = await problem(gw, "GET", f"{STORAGE}?org=ttd", 403, token=org_token(scopes=[SERVICE_OWNER_WRITE]))
    assert (missing["code"], malformed["code"], write_only["code"]) == (
        "UNAUTHENTICATED",
        "UNAUTHENTICATED",
        "FORBIDDEN",
    )
    assert response.headers["www-authenticate"] == "Bearer"
    assert "instances.read" in write_only["detail"]


async def test_an_end_user_gets_the_same_read_predicate_as_in_graphql(gateway_with):
    roles = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
    hidden = make_instance(party_id="500", status=GONE)
    async with gateway_with([*DOCUMENTS, hidden], roles) as gw:
        token = user_token("1", "1")
        mine = await rest_ids(gw, "instanceOwner.partyId=500", token=token)
        assert mine == await graphql_ids(gw, {"instanceOwner": {"partyId": {"eq": "500"}}}, token=token)
        assert set(mine) == {DOCUMENTS[1]["id"], DOCUMENTS[5]["id"]}
        # never hard-deleted instances, even when asking for them: an empty page, not an error
        # (InstancesControllerTests' GetMany_UserRequestsHardDeletedInstances_EmptyListReturned)
        assert await rest_ids(gw, "instanceOwner.partyId=500&status.isHardDeleted=true", token=token) == []
        # nor another party's
        assert await rest_ids(gw, "instanceOwner.partyId=600", token=token) == []
        # confirmed is about the calling app owner's confirmations
        body = await problem(gw, "GET", f"{STORAGE}?instanceOwner.partyId=500&confirmed=false", 400, token=token)
        assert list(body["errors"]) == ["confirmed"]


async def test_end_users_never_see_hard_deleted_data_elements(gateway_with):
    roles = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
    elements = [
        {"id": "kept", "dataType": "model", "created": "2024-01-01T10:00:00Z"},
        {
            "id": "gone",
            "dataType": "model",
            "deleteStatus": {"isHardDeleted": True, "hardDeleted": "2024-01-02T00:00:00Z"},
        },
    ]
    document = make_instance(party_id="500", data=elements)
    async with gateway_with([document], roles) as gw:
        as_user = await rest_ids_with_data(gw, user_token("1", "1"))
        as_owner = await rest_ids_with_data(gw, org_token())
    assert as_user == ["kept"]
    assert as_owner == ["kept", "gone"]


async def rest_ids_with_data(gw, token: str) -> list[str]:
    body = await ok(gw, "GET", f"{STORAGE}?appId=ttd/skjema-a&instanceOwner.partyId=500", "QueryResponse", token=token)
    [instance] = body["instances"]
    return [e["id"] for e in instance["data"]]
