"""`extensions: {"explain": true}` over HTTP, on both stores: the commands each root field sent,
with the read predicate in them, and MongoDB's plan on the wire store; on either executor; and
who gets it."""

from typing import Any

import pytest

from tests.conftest import Gateway, org_token, user_token
from tests.factories import make_instance

PAGE_AND_GROUPS = """{
  instances(first: 2, filter: {appId: {eq: "ttd/skjema-a"}}) { totalCount nodes { id } }
  groups: instanceGroups(by: [CURRENT_TASK]) { currentTask count }
}"""
PAGE = '{ instances(first: 2, filter: {appId: {eq: "ttd/skjema-a"}}) { totalCount nodes { id } } }'


async def explained(gateway: Gateway, query: str, token: str, explain: Any = True) -> dict[str, Any]:
    body = {"query": query, "extensions": {"explain": explain}}
    response = await gateway.http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    return response.json()


def by_field(explain: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    fields: dict[str, list[dict[str, Any]]] = {}
    for sent in explain["commands"]:
        fields.setdefault(sent["field"], []).append(sent)
    return fields


@pytest.mark.parametrize("compiled", [True, False])
async def test_each_root_field_shows_the_commands_it_sent(gateway_with, store, compiled):
    documents = [make_instance(), make_instance(), make_instance(), make_instance(app_id="ttd/skjema-b")]
    async with gateway_with(documents, compiled_execution=compiled) as gateway:
        body = await explained(gateway, PAGE_AND_GROUPS, org_token("ttd"))
        page = await explained(gateway, PAGE, org_token("ttd"))
    assert "errors" not in body and body["data"]["instances"]["totalCount"] == 3
    fields = by_field(body["extensions"]["explain"])
    assert fields.keys() == {"instances", "groups"}
    find, count = (sent["command"] for sent in fields["instances"])
    read_predicate = {"$or": [{"org": "ttd"}]}
    assert find["find"] == "instances" and find["limit"] == 3
    assert find["sort"] == {"lastChanged": -1, "id": -1}
    assert read_predicate in find["filter"]["$and"] and {"appId": "ttd/skjema-a"} in find["filter"]["$and"]
    assert count["aggregate"] == "instances" and count["pipeline"][0]["$match"] == find["filter"]
    (groups,) = fields["groups"]
    match, group, *_ = groups["command"]["pipeline"]
    assert read_predicate in match["$match"]["$and"]
    grouped_by = group["$project"]["_id"] if store.embedded else group["$group"]["_id"]
    assert grouped_by["CURRENT_TASK"] == "$process.currentTask.elementId"
    # The compiled execution answers the page alone, and names its root field too.
    assert [sent["field"] for sent in page["extensions"]["explain"]["commands"]] == ["instances", "instances"]
    for sent in body["extensions"]["explain"]["commands"]:
        if store.embedded:
            assert sent["plan"] is None  # the embedded store has no query planner
        else:
            assert sent["plan"]["totalDocsExamined"] >= 3
            assert sent["plan"]["stages"] and isinstance(sent["plan"]["totalKeysExamined"], int)
    if not store.embedded:  # the winning plan from the top, down to how it finds the documents
        plan = fields["instances"][0]["plan"]
        assert plan["stages"][-1] in {"IXSCAN", "COLLSCAN"} and isinstance(plan["indexes"], list)


async def test_dates_and_patterns_are_json(gateway_with):
    query = """{ instances(filter: {created: {gte: "2024-01-01T00:00:00Z"}, appId: {startsWith: "ttd/"}}) {
      nodes { id } } }"""
    async with gateway_with([make_instance()]) as gateway:
        body = await explained(gateway, query, org_token("ttd"))
    clauses = body["extensions"]["explain"]["commands"][0]["command"]["filter"]["$and"][0]["$and"]
    assert {"created": {"$gte": "2024-01-01T00:00:00.000Z"}} in clauses
    assert {"appId": {"$regex": "^ttd/"}} in clauses


async def test_end_users_get_it_on_the_embedded_store_only(gateway_with, store):
    async with gateway_with([make_instance()]) as gateway:
        body = await explained(gateway, PAGE, user_token("1337", "1337"))
    assert body["data"]["instances"]["totalCount"] == 1  # the data, as always
    explain = body["extensions"]["explain"]
    if store.embedded:
        assert [sent["field"] for sent in explain["commands"]] == ["instances", "instances"]
    else:
        assert explain == {
            "errors": [
                {"message": "the query plan is shown to service owners only", "extensions": {"code": "FORBIDDEN"}}
            ]
        }


@pytest.mark.parametrize(("explain", "expected"), [(False, None), (None, None), ("yes", "BAD_USER_INPUT")])
async def test_only_true_asks_for_it(gateway_with, explain, expected):
    async with gateway_with([make_instance()]) as gateway:
        body = await explained(gateway, PAGE, org_token("ttd"), explain)
    code = body.get("extensions", {}).get("explain", {"errors": [{"extensions": {"code": None}}]})
    assert code["errors"][0]["extensions"]["code"] == expected
    assert body["data"]["instances"]["totalCount"] == 1
