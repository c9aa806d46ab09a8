"""Who sees and changes what, through GraphQL over HTTP: a table per question.

The data set (demo policies): party 500 is an organisation whose DAGL is user 1; party 1337 is
user 1337's own party (PRIV); party 600 is nobody's here. skjema-a and skjema-b let DAGL/REGNA/
PRIV read, write and delete at auth level 3 (skjema-a also lets ttd delete); melding lets PRIV
and DAGL only read, in Task_1 or after EndEvent_1, at auth level 2.
"""

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.authorization.identity import SERVICE_OWNER_READ, SERVICE_OWNER_WRITE
from app.authorization.tokens import mint_token
from tests.conftest import TEST_SECRET, org_token, user_token
from tests.factories import make_data_element, make_instance

CROSS_ORG_POLICIES = Path(__file__).parent / "fixtures" / "cross-org-policies"
FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()


def guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def ended(end_event: str) -> dict[str, Any]:
    return {
        "started": "2024-01-01T10:00:00Z",
        "startEvent": "StartEvent_1",
        "ended": "2024-01-05T10:00:00Z",
        "endEvent": end_event,
    }


def at_task(task: str) -> dict[str, Any]:
    return {
        "started": "2024-01-01T10:00:00Z",
        "startEvent": "StartEvent_1",
        "currentTask": {"flow": 3, "elementId": task, "altinnTaskType": "data"},
    }


ARCHIVED = {"isArchived": True, "archived": "2024-01-05T10:00:00Z", "isSoftDeleted": False, "isHardDeleted": False}

# name -> document; the name is also how the tables below refer to it.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "a-dagl": make_instance(
        party_id="500",
        guid=guid(1),
        data=[
            make_data_element(guid(1), dataType="model"),
            make_data_element(
                guid(1),
                dataType="secret",
                deleteStatus={"isHardDeleted": True, "hardDeleted": "2024-01-02T10:00:00Z"},
            ),
        ],
    ),
    "a-priv": make_instance(party_id="1337", guid=guid(2)),
    "a-nobody": make_instance(party_id="600", guid=guid(3)),
    "b-dagl": make_instance(party_id="500", guid=guid(4), app_id="ttd/skjema-b"),
    "m-task1": make_instance(party_id="500", guid=guid(5), app_id="ttd/melding", process=at_task("Task_1")),
    "m-task2": make_instance(party_id="500", guid=guid(6), app_id="ttd/melding", process=at_task("Task_2")),
    "m-end1": make_instance(
        party_id="500", guid=guid(7), app_id="ttd/melding", process=ended("EndEvent_1"), status=ARCHIVED
    ),
    "m-end2": make_instance(
        party_id="500", guid=guid(8), app_id="ttd/melding", process=ended("EndEvent_2"), status=ARCHIVED
    ),
    "hard-deleted": make_instance(
        party_id="500",
        guid=guid(9),
        status={
            "isSoftDeleted": True,
            "softDeleted": "2024-02-01T00:00:00Z",
            "isHardDeleted": True,
            "hardDeleted": "2024-02-01T00:00:00Z",
        },
    ),
    "soft-deleted": make_instance(
        party_id="500", guid=guid(10), status={"isSoftDeleted": True, "softDeleted": "2024-02-01T00:00:00Z"}
    ),
    "visible-later": make_instance(party_id="500", guid=guid(11), visibleAfter=FUTURE),
    "visible-since": make_instance(party_id="500", guid=guid(12), visibleAfter="2020-01-01T00:00:00Z"),
    "skd-own": make_instance(party_id="500", guid=guid(13), app_id="skd/eget"),
}
ID = {name: doc["id"] for name, doc in DOCUMENTS.items()}
ROLES = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]

CALLERS = {
    "ttd": lambda: org_token("ttd"),
    "ttd-read-scope-only": lambda: org_token("ttd", scopes=[SERVICE_OWNER_READ]),
    "ttd-write-scope-only": lambda: org_token("ttd", scopes=[SERVICE_OWNER_WRITE]),
    "ttd-no-scope": lambda: org_token("ttd", scopes=[]),
    "skd-other-org": lambda: org_token("skd", org_number="974761076"),
    "dagl": lambda: user_token("1", "1"),
    "dagl-read-scope-only": lambda: user_token("1", "1", scopes=["altinn:instances.read"]),
    "dagl-auth-level-2": lambda: user_token("1", "1", auth_level=2),
    "dagl-auth-level-1": lambda: user_token("1", "1", auth_level=1),
    "priv": lambda: user_token("1337", "1337"),
    "no-role": lambda: user_token("2", "2"),
}

TTD_SEES = {
    "a-dagl", "a-priv", "a-nobody", "b-dagl", "m-task1", "m-task2", "m-end1", "m-end2",
    "soft-deleted", "visible-later", "visible-since",
}  # fmt: skip
DAGL_SEES = {"a-dagl", "b-dagl", "m-task1", "m-end1", "soft-deleted", "visible-since"}

# caller -> the instances `instances` lists (no filter), or the error code
READ_MATRIX = [
    ("ttd", TTD_SEES),
    ("ttd-read-scope-only", TTD_SEES),
    ("ttd-write-scope-only", "FORBIDDEN"),
    ("ttd-no-scope", "FORBIDDEN"),
    ("skd-other-org", {"skd-own"}),
    ("dagl", DAGL_SEES),
    ("dagl-read-scope-only", DAGL_SEES),
    ("dagl-auth-level-2", {"m-task1", "m-end1"}),
    ("dagl-auth-level-1", set()),
    ("priv", {"a-priv"}),
    ("no-role", set()),
]


async def post(gw, query: str, variables: dict[str, Any] | None = None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await gw.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def error_code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert len(codes) == 1, body
    return codes.pop()


def names_of(ids: list[str]) -> set[str]:
    by_id = {v: k for k, v in ID.items()}
    return {by_id[i] for i in ids}


LIST = "query($filter: InstanceFilter) { instances(filter: $filter) { totalCount nodes { id } } }"
# `org` is selected too: see test_the_owner_reads_the_trail_without_selecting_org
EVENTS = "query($id: ID!) { instance(id: $id) { org events { eventType user { orgId userId } } } }"


# --- no valid token: 401 for every operation ----------------------------------------------


def _unsigned_token() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    return part({"alg": "none", "typ": "JWT"}) + "." + part({"urn:altinn:org": "ttd", "exp": exp}) + "."


BAD_TOKENS = {
    "no-token": lambda: None,
    "garbage": lambda: "this-is-not-a-jwt",
    "expired": lambda: mint_token(
        secret=TEST_SECRET, org="ttd", ttl_seconds=60, now=datetime.now(UTC) - timedelta(hours=2)
    ),
    "alg-none": _unsigned_token,
    "other-secret": lambda: mint_token(secret="a-completely-different-secret-of-32-bytes+", org="ttd"),
}

OPERATIONS = {
    "instances": "{ instances { totalCount nodes { id } } }",
    "instance": "query($id: ID!) { instance(id: $id) { id } }",
    "setSubstatus": 'mutation($id: ID!) { setSubstatus(instanceId: $id, substatus: {label: "x"}) { id } }',
    "deleteInstance": "mutation($id: ID!) { deleteInstance(instanceId: $id) { id } }",
    "deleteInstance-hard": "mutation($id: ID!) { deleteInstance(instanceId: $id, hard: true) { id } }",
    "restoreInstance": "mutation($id: ID!) { restoreInstance(instanceId: $id) { id } }",
    "confirmComplete": "mutation($id: ID!) { confirmComplete(instanceId: $id) { id } }",
    "setReadStatus": "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { id } }",
    "deleteInstances": (
        'mutation { deleteInstances(filter: {appId: {eq: "ttd/skjema-a"}}, dryRun: false) { matched deleted } }'
    ),
}


@pytest.mark.parametrize("bad_token", list(BAD_TOKENS), ids=list(BAD_TOKENS))
@pytest.mark.parametrize("operation", list(OPERATIONS), ids=list(OPERATIONS))
async def test_without_a_valid_token_every_operation_is_401(gateway_with, operation, bad_token):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        query = OPERATIONS[operation]
        variables = {"id": ID["a-dagl"]} if "$id" in query else {}
        response = await post(gw, query, variables, token=BAD_TOKENS[bad_token]())
        assert response.status_code == 401
        body = response.json()
        assert body["data"] is None
        assert error_code(body) == "UNAUTHENTICATED"
        # and nothing happened
        trail = await gw.data(EVENTS, {"id": ID["a-dagl"]})
        assert trail["instance"]["events"] == []
        status = await gw.data(
            "query($id: ID!) { instance(id: $id) { status { isSoftDeleted } } }", {"id": ID["a-dagl"]}
        )
        assert status["instance"]["status"]["isSoftDeleted"] is False


# --- reading: instances and instance(id) ---------------------------------------------------


@pytest.mark.parametrize(("caller", "expected"), READ_MATRIX, ids=[c for c, _ in READ_MATRIX])
async def test_instances_lists_exactly_what_the_caller_may_see(gateway_with, caller, expected):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query(LIST, token=CALLERS[caller]())
    if isinstance(expected, str):
        assert error_code(body) == expected
        assert body["data"] is None
        return
    assert "errors" not in body, body
    nodes = body["data"]["instances"]["nodes"]
    assert names_of([n["id"] for n in nodes]) == expected
    assert len(nodes) == len(expected)
    assert body["data"]["instances"]["totalCount"] == len(expected)


# instance(id): the service owner also sees a hard-deleted instance it asks for by id; without
# the read scope it lists nothing, but reads one instance where the app's policy lets it (as
# Altinn): the demo policies let ttd read its apps' instances in every state.
TTD_BY_POLICY = TTD_SEES | {"hard-deleted"}
BY_ID_MATRIX = [
    (
        caller,
        TTD_BY_POLICY
        if caller in ("ttd-write-scope-only", "ttd-no-scope")
        else expected
        if isinstance(expected, str)
        else expected | ({"hard-deleted"} if caller.startswith("ttd") else set()),
    )
    for caller, expected in READ_MATRIX
]


@pytest.mark.parametrize(("caller", "expected"), BY_ID_MATRIX, ids=[c for c, _ in BY_ID_MATRIX])
async def test_instance_by_id_is_null_unless_visible(gateway_with, caller, expected):
    aliases = " ".join(f'i{n}: instance(id: "{ID[name]}") {{ id }}' for n, name in enumerate(ID))
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query("{ " + aliases + " }", token=CALLERS[caller]())
    if isinstance(expected, str):
        assert error_code(body) == expected
        return
    assert "errors" not in body, body
    seen = {name for n, name in enumerate(ID) if body["data"][f"i{n}"] is not None}
    assert seen == expected
    for n, name in enumerate(ID):
        if name in expected:
            assert body["data"][f"i{n}"] == {"id": ID[name]}


async def test_an_unknown_id_is_null_for_everyone(gateway_with):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        for caller in ("ttd", "dagl", "skd-other-org"):
            data = await gw.data('{ instance(id: "500/no-such-guid") { id } }', token=CALLERS[caller]())
            assert data == {"instance": None}


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("ttd", {"hard-deleted"}), ("dagl", set()), ("priv", set()), ("skd-other-org", set())],
    ids=["ttd", "dagl", "priv", "skd-other-org"],
)
async def test_end_users_never_see_hard_deleted_instances_even_when_asking(gateway_with, caller, expected):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query(LIST, {"filter": {"status": {"isHardDeleted": True}}}, token=CALLERS[caller]())
        assert "errors" not in body, body
        assert names_of([n["id"] for n in body["data"]["instances"]["nodes"]]) == expected
        assert body["data"]["instances"]["totalCount"] == len(expected)
        # asking for both states still hides them from end users
        both = {"or": [{"status": {"isHardDeleted": True}}, {"status": {"isHardDeleted": False}}]}
        body = await gw.query(LIST, {"filter": both}, token=CALLERS[caller]())
        assert ("hard-deleted" in names_of([n["id"] for n in body["data"]["instances"]["nodes"]])) == bool(expected)


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("ttd", {"visible-later", "visible-since"}), ("dagl", {"visible-since"})],
    ids=["ttd", "dagl"],
)
async def test_end_users_never_see_an_instance_before_its_visible_after(gateway_with, caller, expected):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query(LIST, {"filter": {"visibleAfter": {"exists": True}}}, token=CALLERS[caller]())
    assert "errors" not in body, body
    assert names_of([n["id"] for n in body["data"]["instances"]["nodes"]]) == expected
    assert body["data"]["instances"]["totalCount"] == len(expected)


# --- hard-deleted data elements ------------------------------------------------------------

SECRET = {"data": {"dataType": {"eq": "secret"}}}


@pytest.mark.parametrize(
    ("caller", "element_types", "secret_match"),
    [("ttd", ["model", "secret"], {"a-dagl"}), ("dagl", ["model"], set())],
    ids=["ttd-sees-all-elements", "dagl-never-sees-hard-deleted-elements"],
)
async def test_hard_deleted_data_elements_are_hidden_from_end_users(gateway_with, caller, element_types, secret_match):
    token = CALLERS[caller]()
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        data = await gw.data(
            'query($id: ID!) { instance(id: $id) { data { dataType } secret: data(filter: {dataType: {eq: "secret"}})'
            " { dataType } } }",
            {"id": ID["a-dagl"]},
            token=token,
        )
        assert [e["dataType"] for e in data["instance"]["data"]] == element_types
        assert [e["dataType"] for e in data["instance"]["secret"]] == [t for t in element_types if t == "secret"]
        # a hidden element never makes an instance match, however the condition is nested
        for instance_filter in (SECRET, {"or": [SECRET]}, {"and": [{"or": [SECRET, {"appId": {"eq": "x/y"}}]}]}):
            data = await gw.data(LIST, {"filter": instance_filter}, token=token)
            assert names_of([n["id"] for n in data["instances"]["nodes"]]) == secret_match
            assert data["instances"]["totalCount"] == len(secret_match)
        # ... nor keeps one from matching `not`
        data = await gw.data(LIST, {"filter": {"not": SECRET}}, token=token)
        assert ("a-dagl" in names_of([n["id"] for n in data["instances"]["nodes"]])) == (not secret_match)


# --- melding: read only in Task_1 or after EndEvent_1, at auth level 2 or more ------------

MELDING_CASES = [
    ("Task_1", at_task("Task_1"), 2, True),
    ("Task_1", at_task("Task_1"), 4, True),
    ("Task_1", at_task("Task_1"), 1, False),
    ("Task_2", at_task("Task_2"), 3, False),
    ("ended-EndEvent_1", ended("EndEvent_1"), 2, True),
    ("ended-EndEvent_1", ended("EndEvent_1"), 1, False),
    ("ended-EndEvent_2", ended("EndEvent_2"), 3, False),
    ("not-started", None, 3, False),
]


@pytest.mark.parametrize(
    ("state", "process", "auth_level", "visible"),
    MELDING_CASES,
    ids=[f"{state}-level-{level}" for state, _, level, _ in MELDING_CASES],
)
async def test_melding_is_readable_only_in_task_1_or_after_end_event_1(
    gateway_with, state, process, auth_level, visible
):
    document = make_instance(app_id="ttd/melding", party_id="1337", process=process)
    async with gateway_with([document]) as gw:
        token = user_token("1337", "1337", auth_level=auth_level)
        data = await gw.data(LIST, token=token)
        assert data["instances"]["totalCount"] == int(visible)
        assert [n["id"] for n in data["instances"]["nodes"]] == ([document["id"]] if visible else [])
        by_id = await gw.data("query($id: ID!) { instance(id: $id) { id } }", {"id": document["id"]}, token=token)
        assert (by_id["instance"] is not None) == visible
        # the app owner reads it in every state
        assert (await gw.data(LIST))["instances"]["totalCount"] == 1


# --- another org reads an app's instances only with a policy permit ----------------------


CROSS_ORG_DOCUMENTS = {
    "delt": make_instance(app_id="ttd/delt", party_id="500", guid=guid(21)),
    "privat": make_instance(app_id="ttd/privat", party_id="500", guid=guid(22)),
    "skd-own": make_instance(app_id="skd/eget", party_id="500", guid=guid(23)),
}


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("skd-other-org", {"delt", "skd-own"}),
        ("ttd", {"delt", "privat"}),
        ("skd-read-scope-missing", "FORBIDDEN"),
        ("digdir-no-permit", set()),
    ],
    ids=["skd-with-read-permit", "ttd-owner", "skd-without-read-scope", "digdir-without-permit"],
)
async def test_another_org_reads_an_app_only_with_a_policy_permit(gateway_with, caller, expected):
    tokens = {
        **CALLERS,
        "skd-read-scope-missing": lambda: org_token("skd", scopes=[SERVICE_OWNER_WRITE]),
        "digdir-no-permit": lambda: org_token("digdir"),
    }
    async with gateway_with(list(CROSS_ORG_DOCUMENTS.values()), policy_dir=CROSS_ORG_POLICIES) as gw:
        body = await gw.query(LIST, token=tokens[caller]())
        if isinstance(expected, str):
            assert error_code(body) == expected
            return
        by_id = {doc["id"]: name for name, doc in CROSS_ORG_DOCUMENTS.items()}
        assert {by_id[n["id"]] for n in body["data"]["instances"]["nodes"]} == expected
        assert body["data"]["instances"]["totalCount"] == len(expected)
        for name, doc in CROSS_ORG_DOCUMENTS.items():
            data = await gw.data(
                "query($id: ID!) { instance(id: $id) { id } }", {"id": doc["id"]}, token=tokens[caller]()
            )
            assert (data["instance"] is not None) == (name in expected), name


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        ('setSubstatus(instanceId: $id, substatus: {label: "x"})', "FORBIDDEN"),
        ("deleteInstance(instanceId: $id)", "FORBIDDEN"),
        ("confirmComplete(instanceId: $id)", "FORBIDDEN"),
        # Altinn authorizes the read status with the policy action `read`
        ("setReadStatus(instanceId: $id, status: READ)", "MessageRead"),
    ],
    ids=["setSubstatus", "deleteInstance", "confirmComplete", "setReadStatus"],
)
async def test_a_read_permit_gives_another_org_only_what_read_allows(gateway_with, mutation, expected):
    doc = CROSS_ORG_DOCUMENTS["delt"]
    async with gateway_with([doc], policy_dir=CROSS_ORG_POLICIES) as gw:
        body = await gw.query(
            f"mutation($id: ID!) {{ {mutation} {{ id }} }}", {"id": doc["id"]}, token=org_token("skd")
        )
        trail = [e["eventType"] for e in (await gw.data(EVENTS, {"id": doc["id"]}))["instance"]["events"]]
        if expected == "FORBIDDEN":
            assert error_code(body) == "FORBIDDEN"
            assert trail == []
        else:
            assert "errors" not in body, body
            assert trail == [expected]
        # never the owner's audit trail
        body = await gw.query(EVENTS, {"id": doc["id"]}, token=org_token("skd"))
        assert error_code(body) == "FORBIDDEN"


# --- pages stay full: the predicate is in the query -------------------------------------


async def test_pages_stay_full_when_most_instances_are_hidden(gateway_with):
    # 20 hidden instances changed most recently, so they would fill the first pages if the
    # gateway filtered after fetching.
    hidden = [make_instance(party_id="600", lastChanged=f"2024-03-{d:02d}T10:00:00Z") for d in range(1, 21)]
    mine = [make_instance(party_id="1337", lastChanged=f"2024-01-{d:02d}T10:00:00Z") for d in range(1, 11)]
    query = (
        "query($after: String) { instances(first: 5, after: $after) "
        "{ totalCount pageInfo { hasNextPage endCursor } nodes { id } } }"
    )
    token = user_token("1337", "1337")
    async with gateway_with(hidden + mine) as gw:
        first = (await gw.data(query, token=token))["instances"]
        second = (await gw.data(query, {"after": first["pageInfo"]["endCursor"]}, token=token))["instances"]
    assert first["totalCount"] == second["totalCount"] == 10
    assert len(first["nodes"]) == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert len(second["nodes"]) == 5
    assert second["pageInfo"]["hasNextPage"] is False
    newest_first = [d["id"] for d in reversed(mine)]
    assert [n["id"] for n in first["nodes"] + second["nodes"]] == newest_first


# --- mutations ---------------------------------------------------------------------------

MUTATIONS = {
    "setSubstatus": (
        'setSubstatus(instanceId: $id, substatus: {label: "ok"}) { id status { substatus { label } } }',
        "SubstatusUpdated",
    ),
    "deleteInstance": ("deleteInstance(instanceId: $id) { id status { isSoftDeleted } }", "Deleted"),
    "deleteInstance-hard": (
        "deleteInstance(instanceId: $id, hard: true) { id status { isSoftDeleted isHardDeleted } }",
        "Deleted",
    ),
    "restoreInstance": ("restoreInstance(instanceId: $id) { id status { isSoftDeleted } }", "Undeleted"),
    "confirmComplete": ("confirmComplete(instanceId: $id) { id completeConfirmations { stakeholderId } }", None),
    "setReadStatus": ("setReadStatus(instanceId: $id, status: READ) { id status { readStatus } }", "MessageRead"),
}
MUTATION_EFFECT = {
    "setSubstatus": lambda i: i["status"]["substatus"] == {"label": "ok"},
    "deleteInstance": lambda i: i["status"]["isSoftDeleted"] is True,
    "deleteInstance-hard": lambda i: i["status"] == {"isSoftDeleted": True, "isHardDeleted": True},
    "restoreInstance": lambda i: i["status"]["isSoftDeleted"] is False,
    "confirmComplete": lambda i: [c["stakeholderId"] for c in i["completeConfirmations"]] == ["ttd"],
    "setReadStatus": lambda i: i["status"]["readStatus"] == "READ",
}

# (operation, caller, target, expected: "ok" or an error code)
MUTATION_MATRIX = [
    ("setSubstatus", "ttd", "a-dagl", "ok"),
    ("setSubstatus", "ttd-write-scope-only", "a-dagl", "ok"),
    ("setSubstatus", "ttd-read-scope-only", "a-dagl", "ok"),
    ("setSubstatus", "ttd-no-scope", "a-dagl", "ok"),
    ("setSubstatus", "ttd", "b-dagl", "ok"),
    ("setSubstatus", "skd-other-org", "a-dagl", "NOT_FOUND"),
    ("setSubstatus", "dagl", "a-dagl", "FORBIDDEN"),
    ("setSubstatus", "priv", "a-dagl", "NOT_FOUND"),
    ("setSubstatus", "no-role", "a-dagl", "NOT_FOUND"),
    ("setSubstatus", "dagl-auth-level-1", "a-dagl", "NOT_FOUND"),
    ("deleteInstance", "ttd", "a-dagl", "ok"),
    ("deleteInstance", "ttd-read-scope-only", "a-dagl", "ok"),
    ("deleteInstance", "ttd", "b-dagl", "FORBIDDEN"),
    ("deleteInstance", "ttd", "m-task1", "FORBIDDEN"),
    ("deleteInstance", "skd-other-org", "a-dagl", "NOT_FOUND"),
    ("deleteInstance", "dagl", "a-dagl", "ok"),
    ("deleteInstance", "dagl", "b-dagl", "ok"),
    ("deleteInstance", "dagl", "m-task1", "FORBIDDEN"),
    ("deleteInstance", "dagl-read-scope-only", "a-dagl", "ok"),
    ("deleteInstance", "dagl-auth-level-2", "a-dagl", "NOT_FOUND"),
    ("deleteInstance", "dagl-auth-level-1", "a-dagl", "NOT_FOUND"),
    ("deleteInstance", "dagl", "visible-later", "NOT_FOUND"),
    ("deleteInstance", "priv", "a-dagl", "NOT_FOUND"),
    ("deleteInstance", "priv", "a-priv", "ok"),
    ("deleteInstance", "no-role", "a-dagl", "NOT_FOUND"),
    ("deleteInstance-hard", "ttd", "a-dagl", "ok"),
    ("deleteInstance-hard", "ttd", "b-dagl", "FORBIDDEN"),
    ("deleteInstance-hard", "dagl", "a-dagl", "ok"),
    ("deleteInstance-hard", "priv", "a-dagl", "NOT_FOUND"),
    ("deleteInstance-hard", "dagl", "hard-deleted", "NOT_FOUND"),
    ("restoreInstance", "ttd", "soft-deleted", "ok"),
    ("restoreInstance", "ttd-read-scope-only", "soft-deleted", "ok"),
    ("restoreInstance", "dagl", "soft-deleted", "ok"),
    ("restoreInstance", "skd-other-org", "soft-deleted", "NOT_FOUND"),
    ("restoreInstance", "priv", "soft-deleted", "NOT_FOUND"),
    ("restoreInstance", "dagl", "hard-deleted", "NOT_FOUND"),
    ("restoreInstance", "ttd", "hard-deleted", "NOT_FOUND"),
    ("confirmComplete", "ttd", "a-dagl", "ok"),
    ("confirmComplete", "ttd", "m-end1", "ok"),
    ("confirmComplete", "ttd-read-scope-only", "a-dagl", "ok"),
    ("confirmComplete", "skd-other-org", "a-dagl", "NOT_FOUND"),
    ("confirmComplete", "dagl", "a-dagl", "FORBIDDEN"),
    ("confirmComplete", "priv", "a-dagl", "NOT_FOUND"),
    ("setReadStatus", "ttd", "a-dagl", "ok"),
    ("setReadStatus", "ttd-read-scope-only", "a-dagl", "ok"),
    ("setReadStatus", "dagl", "a-dagl", "ok"),
    ("setReadStatus", "dagl-auth-level-2", "m-task1", "ok"),
    ("setReadStatus", "dagl-auth-level-2", "a-dagl", "NOT_FOUND"),
    ("setReadStatus", "dagl-auth-level-1", "m-task1", "NOT_FOUND"),
    ("setReadStatus", "dagl", "m-task2", "NOT_FOUND"),
    ("setReadStatus", "dagl-read-scope-only", "a-dagl", "ok"),
    ("setReadStatus", "priv", "a-dagl", "NOT_FOUND"),
    ("setReadStatus", "skd-other-org", "a-dagl", "NOT_FOUND"),
    ("setReadStatus", "no-role", "a-dagl", "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("operation", "caller", "target", "expected"),
    MUTATION_MATRIX,
    ids=[f"{op}-by-{caller}-on-{target}-{expected}" for op, caller, target, expected in MUTATION_MATRIX],
)
async def test_mutation_outcome_by_caller(gateway_with, operation, caller, target, expected):
    selection, event_type = MUTATIONS[operation]
    if operation == "confirmComplete":
        event_type = "ConfirmedComplete"
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query(f"mutation($id: ID!) {{ {selection} }}", {"id": ID[target]}, token=CALLERS[caller]())
        trail = [e["eventType"] for e in (await gw.data(EVENTS, {"id": ID[target]}))["instance"]["events"]]
    if expected == "ok":
        assert "errors" not in body, body
        [changed] = body["data"].values()
        assert changed["id"] == ID[target]
        assert MUTATION_EFFECT[operation](changed), changed
        assert trail == [event_type]
    else:
        assert error_code(body) == expected
        assert body["data"] is None
        assert trail == [], "a refused change must leave no trace"


async def test_a_mutation_answers_an_end_user_with_no_more_than_a_query_would(gateway_with):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query(
            "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { data { dataType } } }",
            {"id": ID["a-dagl"]},
            token=CALLERS["dagl"](),
        )
        assert body == {"data": {"setReadStatus": {"data": [{"dataType": "model"}]}}}
        body = await gw.query(
            "mutation($id: ID!) { deleteInstance(instanceId: $id) { id org events { eventType } } }",
            {"id": ID["a-dagl"]},
            token=CALLERS["dagl"](),
        )
        assert error_code(body) == "FORBIDDEN"
        assert body["errors"][0]["path"] == ["deleteInstance", "events"]


DELETE_MANY = (
    "mutation($filter: InstanceFilter!) { deleteInstances(filter: $filter, dryRun: false) "
    "{ matched deleted instanceIds failed { instanceId code } } }"
)
PARTY_500_ACTIVE = {"instanceOwner": {"partyId": {"eq": "500"}}, "status": {"isSoftDeleted": False}}

# caller -> (deleted, failed with FORBIDDEN) or an error code
DELETE_MANY_MATRIX = [
    ("ttd", ({"a-dagl", "visible-later", "visible-since"}, {"b-dagl", "m-task1", "m-task2", "m-end1", "m-end2"})),
    ("dagl", ({"a-dagl", "b-dagl", "visible-since"}, {"m-task1", "m-end1"})),
    ("dagl-auth-level-2", (set(), {"m-task1", "m-end1"})),
    ("skd-other-org", (set(), {"skd-own"})),
    ("priv", (set(), set())),
    ("no-role", (set(), set())),
    # Altinn asks no scope for a change; listing what the filter matches needs ttd's read scope
    (
        "ttd-read-scope-only",
        ({"a-dagl", "visible-later", "visible-since"}, {"b-dagl", "m-task1", "m-task2", "m-end1", "m-end2"}),
    ),
    ("dagl-read-scope-only", ({"a-dagl", "b-dagl", "visible-since"}, {"m-task1", "m-end1"})),
    ("ttd-write-scope-only", "FORBIDDEN"),
]


@pytest.mark.parametrize(("caller", "expected"), DELETE_MANY_MATRIX, ids=[c for c, _ in DELETE_MANY_MATRIX])
async def test_delete_instances_checks_each_instance_for_the_caller(gateway_with, caller, expected):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        body = await gw.query(DELETE_MANY, {"filter": PARTY_500_ACTIVE}, token=CALLERS[caller]())
        if isinstance(expected, str):
            assert error_code(body) == expected
            still_active = await gw.data(LIST, {"filter": PARTY_500_ACTIVE})
            assert still_active["instances"]["totalCount"] == 8
            return
        deleted, forbidden = expected
        assert "errors" not in body, body
        result = body["data"]["deleteInstances"]
        assert result["matched"] == len(deleted | forbidden)
        assert names_of(result["instanceIds"]) == deleted | forbidden
        assert result["deleted"] == len(deleted)
        assert {names_of([f["instanceId"]]).pop(): f["code"] for f in result["failed"]} == dict.fromkeys(
            forbidden, "FORBIDDEN"
        )
        soft_deleted = await gw.data(LIST, {"filter": {"status": {"isSoftDeleted": True}}})
        assert names_of([n["id"] for n in soft_deleted["instances"]["nodes"]]) == deleted | {"soft-deleted"}


# --- the audit trail is the owning service owner's ----------------------------------------


async def test_the_owning_org_reads_the_audit_trail_and_an_end_user_gets_forbidden(gateway_with):
    async with gateway_with(list(DOCUMENTS.values()), ROLES) as gw:
        await gw.data(
            'mutation($id: ID!) { setSubstatus(instanceId: $id, substatus: {label: "seen"}) { id } }',
            {"id": ID["a-dagl"]},
        )
        await gw.data(
            "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { id } }",
            {"id": ID["a-dagl"]},
            token=CALLERS["dagl"](),
        )
        owner = await gw.data(EVENTS, {"id": ID["a-dagl"]})
        assert owner["instance"]["events"] == [
            {"eventType": "SubstatusUpdated", "user": {"orgId": "ttd", "userId": None}},
            {"eventType": "MessageRead", "user": {"orgId": None, "userId": "1"}},
        ]
        for caller in ("dagl", "priv"):
            target = "a-dagl" if caller == "dagl" else "a-priv"
            body = await gw.query(EVENTS, {"id": ID[target]}, token=CALLERS[caller]())
            assert error_code(body) == "FORBIDDEN"
            assert body["errors"][0]["path"] == ["instance", "events"]
        # the rest of what the user may read is still readable without asking for events
        data = await gw.data(
            "query($id: ID!) { instance(id: $id) { id } }", {"id": ID["a-dagl"]}, token=CALLERS["dagl"]()
        )
        assert data["instance"] == {"id": ID["a-dagl"]}
        # also in a list
        body = await gw.query("{ instances { nodes { id org events { eventType } } } }", token=CALLERS["dagl"]())
        assert error_code(body) == "FORBIDDEN"


async def test_the_owner_reads_the_trail_without_selecting_org(gateway_with):
    async with gateway_with([DOCUMENTS["a-dagl"]]) as gw:
        await gw.data(
            'mutation($id: ID!) { setSubstatus(instanceId: $id, substatus: {label: "x"}) { id } }', {"id": ID["a-dagl"]}
        )
        data = await gw.data("query($id: ID!) { instance(id: $id) { events { eventType } } }", {"id": ID["a-dagl"]})
        assert data["instance"]["events"] == [{"eventType": "SubstatusUpdated"}]
        data = await gw.data("{ instances { nodes { events { eventType } } } }")
        assert data["instances"]["nodes"] == [{"events": [{"eventType": "SubstatusUpdated"}]}]
