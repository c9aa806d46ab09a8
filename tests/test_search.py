"""Search (Altinn's searchString) and the presentationTexts and dataValues filters, through
GraphQL, REST and subscriptions, on both stores: the caller's text is taken literally, keys
are never field paths, and the conditions compose with everything else a read does. What they
match on random documents is proven in test_filter_properties.py."""

from typing import Any
from urllib.parse import quote

import pytest

from app.store.filters import MAX_TEXT_LENGTH
from tests.conftest import DEMO_POLICIES, org_token, user_token
from tests.factories import make_instance
from tests.rest import STORAGE, ok, problem
from tests.test_compiled_execution import both, compiled_queries, twin_gateways
from tests.test_subscriptions import change, serving, watching, write

EAST = make_instance(
    party_id="1337",
    presentationTexts={"Tittel": "Søknad ØST", "a.b": "x"},
    dataValues={"$gt": "v1", "A2ArchRef": "AR1"},
    lastChanged="2024-01-04T10:00:00Z",
)
WEST = make_instance(
    party_id="500",
    presentationTexts={"Tittel": "søknad vest", "Kommune": "a.b*(["},
    dataValues={"a.b": "v2"},
    lastChanged="2024-01-03T10:00:00Z",
)
SALE = make_instance(party_id="1337", presentationTexts={"Tittel": "50%_ rabatt"}, lastChanged="2024-01-02T10:00:00Z")
# No texts, or texts the API shows as none: nothing to find, and null under every key.
BARE = make_instance(party_id="500", lastChanged="2024-01-01T10:00:00Z")
ODD = make_instance(party_id="500", presentationTexts="Søknad", dataValues={"Tittel": 42}, lastChanged="2023-12-01")
INSTANCES = [EAST, WEST, SALE, BARE, ODD]

LIST = "query($filter: InstanceFilter) { instances(filter: $filter) { totalCount nodes { id } } }"
PAGE = (
    "query($filter: InstanceFilter, $after: String) { instances(filter: $filter, first: 1, after: $after) "
    "{ totalCount nodes { id } pageInfo { hasNextPage endCursor } } }"
)
DRY_RUN = "mutation($filter: InstanceFilter!) { deleteInstances(filter: $filter) { matched instanceIds } }"
TOO_LONG = "ø" * 10_000


def ids(*instances: dict[str, Any]) -> list[str]:
    return [i["id"] for i in instances]


async def found(gw, instance_filter: dict[str, Any], **kwargs: Any) -> list[str]:
    data = await gw.data(LIST, {"filter": instance_filter}, **kwargs)
    nodes = [n["id"] for n in data["instances"]["nodes"]]
    assert data["instances"]["totalCount"] == len(nodes)
    return nodes


SEARCHES = [
    ("øst", [EAST]),
    ("ØST", [EAST]),  # Unicode case folding, not ASCII only
    ("SØKNAD", [EAST, WEST]),
    ("x", [EAST]),  # any presentation text's value; keys are not searched
    ("a.b*([", [WEST]),  # regex metacharacters, taken literally
    ("a.b", [WEST]),
    (".*", []),
    ("%", [SALE]),  # SQL wildcards too, unlike Altinn's ilike
    ("_ r", [SALE]),
    ("\\", []),
    ("$where", []),
    ("\x00", []),
    (" ", [EAST, WEST, SALE]),
]


async def test_search_finds_a_substring_of_any_presentation_text_ignoring_case(gateway_with):
    async with gateway_with(INSTANCES) as gw:
        for text, expected in SEARCHES:
            assert await found(gw, {"search": text}) == ids(*expected), text


KEY_VALUE_FILTERS = [
    ({"presentationTexts": [{"key": "a.b", "value": {"eq": "x"}}]}, [EAST]),
    ({"dataValues": [{"key": "$gt", "value": {"eq": "v1"}}]}, [EAST]),
    ({"dataValues": [{"key": "$gt", "value": {"eq": "$v1"}}]}, []),
    ({"dataValues": [{"key": "a.b"}]}, [WEST]),  # the key alone: it has a text
    ({"dataValues": [{"key": "a"}]}, []),  # `a.b` is one key, not a path
    ({"presentationTexts": [{"key": "Tittel", "value": {"startsWith": "søknad"}}]}, [WEST]),  # case-sensitive
    ({"presentationTexts": [{"key": "Tittel", "value": {"startsWith": "."}}]}, []),
    ({"presentationTexts": [{"key": "Tittel", "value": {"ne": "Søknad ØST"}}]}, [WEST, SALE, BARE, ODD]),
    ({"presentationTexts": [{"key": "Tittel", "value": {"in": ["50%_ rabatt", "x"]}}]}, [SALE]),
    ({"presentationTexts": [{"key": "Kommune", "value": {"exists": False}}]}, [EAST, SALE, BARE, ODD]),
    ({"presentationTexts": [{"key": "Tittel"}, {"key": "Kommune"}]}, [WEST]),  # all entries hold
    ({"dataValues": [{"key": "Tittel", "value": {"exists": True}}]}, []),  # 42 is no text
    ({"dataValues": [{"key": "tittel", "value": {"nin": ["v1"]}}]}, INSTANCES),
    ({"dataValues": [{"key": "A2ArchRef", "value": {"eq": "AR1"}}]}, [EAST]),
]


@pytest.mark.parametrize(("instance_filter", "expected"), KEY_VALUE_FILTERS)
async def test_text_maps_are_matched_by_key_never_by_path(gateway_with, instance_filter, expected):
    async with gateway_with(INSTANCES) as gw:
        assert await found(gw, instance_filter) == ids(*expected)


HOSTILE = [
    {"search": TOO_LONG},
    {"search": ""},
    {"presentationTexts": [{"key": TOO_LONG}]},
    {"dataValues": [{"key": "a", "value": {"eq": TOO_LONG}}]},
    {"or": [{"not": {"presentationTexts": [{"key": "a", "value": {"startsWith": TOO_LONG}}]}}]},
]


@pytest.mark.parametrize("instance_filter", HOSTILE)
async def test_an_empty_search_and_text_past_the_bound_are_bad_user_input(gateway_with, instance_filter):
    async with gateway_with(INSTANCES) as gw:
        for query in (LIST, DRY_RUN):
            body = await gw.query(query, {"filter": instance_filter})
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
            assert body["data"] is None


async def test_text_at_the_bound_runs_on_every_store(gateway_with):
    longest = "." * MAX_TEXT_LENGTH  # each character escaped: the longest pattern
    async with gateway_with(INSTANCES) as gw:
        assert await found(gw, {"search": longest}) == []
        text_filter = {"key": longest, "value": {"startsWith": longest}}
        assert await found(gw, {"presentationTexts": [text_filter]}) == []


async def test_search_composes_with_and_or_not_pages_the_read_predicate_and_bulk_delete(gateway_with):
    async with gateway_with(INSTANCES) as gw:
        either = {"or": [{"search": "øst"}, {"search": "%"}]}
        assert await found(gw, either) == ids(EAST, SALE)
        assert await found(gw, {"not": {"search": "søknad"}}) == ids(SALE, BARE, ODD)
        narrowed = {"search": "søknad", "instanceOwner": {"partyId": {"eq": "500"}}}
        assert await found(gw, narrowed) == ids(WEST)
        # an end user sees only their own party's instances, searched or not
        assert await found(gw, {"search": "søknad"}, token=user_token("1337", "1337")) == ids(EAST)

        walked, after = [], None
        while True:
            page = (await gw.data(PAGE, {"filter": {"search": "søknad"}, "after": after}))["instances"]
            assert page["totalCount"] == 2
            walked += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert walked == ids(EAST, WEST)

        dry_run = (await gw.data(DRY_RUN, {"filter": {"search": "SØKNAD"}}))["deleteInstances"]
        assert (dry_run["matched"], sorted(dry_run["instanceIds"])) == (2, sorted(ids(EAST, WEST)))


async def test_rest_search_string_is_the_same_search(gateway_with):
    async with gateway_with(INSTANCES) as gw:

        async def listed(query: str) -> list[str]:
            page = await ok(gw, "GET", f"{STORAGE}?org=ttd&{query}", "QueryResponse")
            return [i["id"] for i in page["instances"]]

        assert await listed(f"searchString={quote('SØKNAD')}") == ids(EAST, WEST)
        assert await listed("searchString=%25") == ids(SALE)
        assert await listed("searchString=.%2A") == []
        first = await ok(gw, "GET", f"{STORAGE}?org=ttd&searchString=s%C3%B8knad&size=1", "QueryResponse")
        assert [i["id"] for i in first["instances"]] == ids(EAST)
        rest = await ok(gw, "GET", first["next"], "QueryResponse")
        assert ([i["id"] for i in rest["instances"]], "next" in rest) == (ids(WEST), False)

        too_long = await problem(gw, "GET", f"{STORAGE}?org=ttd&searchString={quote(TOO_LONG)}", 400)
        assert f"at most {MAX_TEXT_LENGTH} characters" in too_long["detail"]
        await problem(gw, "GET", f"{STORAGE}?org=ttd&searchString=", 400)


async def test_a_subscriber_s_search_is_matched_on_each_changed_instance(store):
    with serving(store, [EAST, WEST]) as gateway:
        async with watching(gateway, org_token(), {"filter": {"search": "ØST"}}) as socket:
            await write(gateway, {**WEST, "presentationTexts": {"Tittel": "søknad vest", "Ny": "Vestøst"}})
            event = await change(socket)
            assert (event["operation"], event["instanceId"]) == ("UPDATED", WEST["id"])
            await write(gateway, {**WEST, "presentationTexts": {"Tittel": "søknad vest"}})
            left = await change(socket)
            assert (left["operation"], left["instanceId"], left["instance"]) == ("DELETED", WEST["id"], None)


async def test_the_compiled_execution_answers_searches_as_the_general_executor_does(store):
    filters = [
        {"search": "SØKNAD"},
        {"presentationTexts": [{"key": "Navn", "value": {"eq": "Søknad"}}, {"key": "Kommune"}]},
        {"not": {"dataValues": [{"key": "saksnummer", "value": {"startsWith": "2023/"}}]}},
    ]
    query = "query($filter: InstanceFilter) { instances(filter: $filter, first: 1000) { totalCount nodes { id } } }"
    async with twin_gateways(store, DEMO_POLICIES) as (compiled, general):
        queries = compiled_queries(compiled)
        answered = queries.answered
        for instance_filter in filters:
            body = await both(compiled, general, query, {"filter": instance_filter})
            assert body["data"]["instances"]["totalCount"] > 0, instance_filter
        assert queries.answered == answered + len(filters)
