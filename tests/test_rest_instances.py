"""One instance over REST: reading it in Altinn's API JSON form, each change with the same
rules, events and lastChanged as its GraphQL mutation, the audit trail, and the status codes
of altinn-storage.md."""

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_POLICIES, org_token, user_token
from tests.factories import make_instance
from tests.rest import STORAGE, call, ok, problem
from tests.test_database_outage import hung_database

CROSS_ORG_POLICIES = Path(__file__).parent / "fixtures" / "cross-org-policies"
DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
GUID = "bd9edd59-b18c-4726-aa9e-6b150eade814"
SOFT_DELETED = {"isSoftDeleted": True, "softDeleted": "2024-02-01T00:00:00Z"}
HARD_DELETED = {**SOFT_DELETED, "isHardDeleted": True, "hardDeleted": "2024-02-02T00:00:00Z"}

READ = (
    "query($id: ID!) { instance(id: $id) { lastChanged lastChangedBy "
    "status { isArchived isSoftDeleted isHardDeleted readStatus substatus { label description } } "
    "completeConfirmations { stakeholderId } events { eventType user { userId orgId authenticationLevel } } } }"
)


def url(document: dict[str, Any], tail: str = "") -> str:
    return f"{STORAGE}/{document['id']}{tail}"


def twin(document: dict[str, Any]) -> dict[str, Any]:
    """The same instance under another id."""
    copy = make_instance(party_id=document["instanceOwner"]["partyId"], app_id=document["appId"])
    return {**document, "id": copy["id"]}


async def state(gw, document: dict[str, Any]) -> dict[str, Any]:
    """What a change leaves, as GraphQL shows it; whether lastChanged moved, not when."""
    instance = (await gw.data(READ, {"id": document["id"]}))["instance"]
    instance["lastChanged"] = instance["lastChanged"] != "2024-01-01T10:00:00.000Z"
    return instance


# --- reading --------------------------------------------------------------------------------


async def test_an_instance_reads_in_altinns_api_json_form(gateway_with):
    stored = make_instance(
        party_id="1337",
        guid=GUID,
        status=None,
        completeConfirmations=None,
        created="2020-11-18T15:56:42.1972942Z",
        lastChanged="2020-11-18T15:56:42+00:00",
        presentationTexts={"Title": "Søknad"},
        appOwner="ttd",  # a field of Altinn's internal form that the API does not show
        _rid="abc==",
    )
    async with gateway_with([stored]) as gw:
        instance = await ok(gw, "GET", url(stored))
    assert instance["id"] == f"1337/{GUID}"
    assert (instance["created"], instance["lastChanged"]) == ("2020-11-18T15:56:42.197Z", "2020-11-18T15:56:42Z")
    assert instance["status"] == {
        "isArchived": False,
        "archived": None,
        "isSoftDeleted": False,
        "softDeleted": None,
        "isHardDeleted": False,
        "hardDeleted": None,
        "readStatus": "Unread",
        "substatus": None,
    }
    assert instance["completeConfirmations"] is None
    assert instance["presentationTexts"] == {"Title": "Søknad"}
    assert instance["selfLinks"] == {"apps": None, "platform": f"http://gateway/storage/api/v1/instances/1337/{GUID}"}
    assert not {"appOwner", "_rid", "_id", "_pendingEvents"} & set(instance)


async def test_enums_stored_as_dotnet_numbers_read_as_graphql_reads_them(gateway_with):
    """Another writer may store a C# enum as its number: REST reads it as GraphQL does."""
    document = make_instance(data=[{"id": "d", "fileScanResult": "Clean"}])
    async with gateway_with([document]) as gw:
        instances = gw.http._transport.app.state.services.database.instances
        await instances.update_one(
            {"id": document["id"]}, {"$set": {"status.readStatus": 1, "data.0.fileScanResult": 3}}
        )
        answer = await ok(gw, "GET", url(document))
        query = "query($id: ID!) { instance(id: $id) { status { readStatus } data { fileScanResult } } }"
        graphql = (await gw.data(query, {"id": document["id"]}))["instance"]
    assert (answer["status"]["readStatus"], answer["data"][0]["fileScanResult"]) == ("Read", "Infected")
    assert graphql == {"status": {"readStatus": "READ"}, "data": [{"fileScanResult": "INFECTED"}]}


async def test_reading_an_instance_is_200_404_403_or_400(gateway_with):
    mine, theirs = make_instance(party_id="500"), make_instance(party_id="600")
    async with gateway_with([mine, theirs], DAGL) as gw:
        token = user_token("1", "1")
        assert (await ok(gw, "GET", url(mine), token=token))["id"] == mine["id"]
        forbidden = await problem(gw, "GET", url(theirs), 403, token=token)
        absent = await problem(gw, "GET", f"{STORAGE}/500/{GUID}", 404, token=token)
        bad_guid = await problem(gw, "GET", f"{STORAGE}/500/not-a-guid", 400)
        bad_party = await problem(gw, "GET", f"{STORAGE}/5x0/{GUID}", 400)
        # an upper-case GUID is the same instance, as Altinn reads a GUID
        upper = await ok(gw, "GET", f"{STORAGE}/500/{mine['id'].split('/')[1].upper()}")
    assert (forbidden["code"], absent["code"]) == ("FORBIDDEN", "NOT_FOUND")
    assert absent["detail"] == f"Unable to find instance 500/{GUID}."
    assert list(bad_guid["errors"]) == ["instanceGuid"]
    assert list(bad_party["errors"]) == ["partyId"]
    assert upper["id"] == mine["id"]


async def test_an_end_user_never_sees_hard_deleted_instances_or_data_elements(gateway_with):
    gone = make_instance(party_id="500", status=HARD_DELETED)
    elements = [{"id": "kept"}, {"id": "gone", "deleteStatus": {"isHardDeleted": True}}]
    shown = make_instance(party_id="500", data=elements)
    async with gateway_with([gone, shown], DAGL) as gw:
        await problem(gw, "GET", url(gone), 403, token=user_token("1", "1"))
        instance = await ok(gw, "GET", url(shown), token=user_token("1", "1"))
        assert [e["id"] for e in instance["data"]] == ["kept"]
        assert instance["data"][0]["selfLinks"]["platform"] == f"http://gateway{url(shown)}/data/kept"
        assert [e["id"] for e in (await ok(gw, "GET", url(shown)))["data"]] == ["kept", "gone"]


# --- changes: the same as GraphQL's mutations ------------------------------------------------

CHANGES = {
    "substatus": (
        ("PUT", "/substatus", {"json": {"label": "In review", "description": "A case officer is on it"}}),
        'setSubstatus(instanceId: $id, substatus: {label: "In review", description: "A case officer is on it"})',
        {},
    ),
    "soft delete": (("DELETE", "", {}), "deleteInstance(instanceId: $id)", {}),
    "hard delete": (("DELETE", "?hard=true", {}), "deleteInstance(instanceId: $id, hard: true)", {}),
    "complete": (("POST", "/complete", {}), "confirmComplete(instanceId: $id)", {}),
    "read status": (("PUT", "/readstatus?status=Read", {}), "setReadStatus(instanceId: $id, status: READ)", {}),
}


@pytest.mark.parametrize("change", CHANGES)
async def test_each_change_does_what_its_graphql_mutation_does(gateway_with, change):
    (method, tail, body), mutation, fields = CHANGES[change]
    by_rest = make_instance(**fields)
    by_graphql = twin(by_rest)
    async with gateway_with([by_rest, by_graphql]) as gw:
        answer = await ok(gw, method, url(by_rest, tail), **body)
        await gw.data(f"mutation($id: ID!) {{ {mutation} {{ id }} }}", {"id": by_graphql["id"]})
        assert await state(gw, by_rest) == await state(gw, by_graphql)
        # the answer is the instance as it is now
        assert answer == await ok(gw, "GET", url(by_rest))
        trail = (await state(gw, by_rest))["events"]
    assert len(trail) == 1


async def test_the_apps_own_delete_is_the_same_delete_for_that_apps_instances_only(gateway_with):
    by_rest = make_instance()
    by_graphql = twin(by_rest)
    async with gateway_with([by_rest, by_graphql]) as gw:
        other_app = await problem(gw, "DELETE", f"/ttd/skjema-b/instances/{by_rest['id']}", 404)
        assert (await state(gw, by_rest))["events"] == []
        answer = await ok(gw, "DELETE", f"/ttd/skjema-a/instances/{by_rest['id']}?hard=false")
        await gw.data("mutation($id: ID!) { deleteInstance(instanceId: $id) { id } }", {"id": by_graphql["id"]})
        assert await state(gw, by_rest) == await state(gw, by_graphql)
    assert answer["status"]["isSoftDeleted"] is True
    assert "ttd/skjema-b has no instance" in other_app["detail"]


async def test_a_repeated_change_changes_nothing_and_records_nothing(gateway_with):
    document = make_instance()
    async with gateway_with([document]) as gw:
        first = await ok(gw, "DELETE", url(document))
        again = await ok(gw, "DELETE", url(document))
        assert await ok(gw, "POST", url(document, "/complete")) == await ok(gw, "POST", url(document, "/complete"))
        events = [e["eventType"] for e in (await state(gw, document))["events"]]
    assert first["status"]["softDeleted"] == again["status"]["softDeleted"]
    assert events == ["Deleted", "ConfirmedComplete"]


async def test_read_status_leaves_last_changed_and_takes_altinns_names_in_any_case(gateway_with):
    document = make_instance()
    async with gateway_with([document]) as gw:
        answer = await ok(gw, "PUT", url(document, "/readstatus?status=updatedsincelastreview"))
        invalid = await problem(gw, "PUT", url(document, "/readstatus?status=Seen"), 400)
        missing = await problem(gw, "PUT", url(document, "/readstatus"), 400)
    assert answer["status"]["readStatus"] == "UpdatedSinceLastReview"
    assert answer["lastChanged"] == "2024-01-01T10:00:00Z"
    assert (
        invalid["detail"] == "Invalid read status: Seen. Accepted types include: Unread, Read, UpdatedSinceLastReview"
    )
    assert list(invalid["errors"]) == list(missing["errors"]) == ["status"]


@pytest.mark.parametrize(
    ("body", "status", "parameter"),
    [
        ({"json": {"description": "no label"}}, 400, "label"),
        ({"json": {"label": "   "}}, 400, "label"),
        ({"json": {"label": 7}}, 400, "label"),
        ({"json": {"label": "ok", "description": ["x"]}}, 400, "description"),
        ({"json": {"label": "ok", "messageBoxLabel": "x"}}, 400, "messageBoxLabel"),
        ({"json": None}, 400, None),
        ({"json": ["label"]}, 400, None),
        ({"content": b"{label: 'x'}"}, 400, None),
        ({"content": b"\xff"}, 400, None),
        ({"json": {"label": "x" * 2000}}, 413, None),
    ],
    ids=[
        "no-label",
        "blank-label",
        "label-not-text",
        "description-not-text",
        "unknown-field",
        "null",
        "array",
        "not-json",
        "not-utf-8",
        "past-the-body-limit",
    ],
)
async def test_a_bad_substatus_body_is_refused_and_changes_nothing(gateway_with, body, status, parameter):
    document = make_instance()
    async with gateway_with([document], max_body_bytes=1024) as gw:
        refused = await problem(gw, "PUT", url(document, "/substatus"), status, **body)
        assert (await state(gw, document))["events"] == []
    assert refused["code"] == "BAD_USER_INPUT"
    assert refused.get("errors") == ({parameter: [refused["detail"]]} if parameter else None)


async def test_changes_answer_403_and_404_as_altinn_does(gateway_with):
    shared = make_instance(app_id="ttd/delt", party_id="500")
    async with gateway_with([shared], DAGL, policy_dir=CROSS_ORG_POLICIES) as gw:
        # skd may read ttd/delt (its policy says so), but a substatus is the app owner's alone
        another_org = await problem(
            gw, "PUT", url(shared, "/substatus"), 403, json={"label": "x"}, token=org_token("skd")
        )
        assert "only the app owner ttd" in another_org["detail"]
        # and may not delete or confirm; reading (the audit trail too, Altinn's InstanceRead) is all it may do
        await problem(gw, "DELETE", url(shared), 403, token=org_token("skd"))
        await problem(gw, "POST", url(shared, "/complete"), 403, token=org_token("skd"))
        await ok(gw, "GET", url(shared, "/events"), "InstanceEventList", token=org_token("skd"))
        await ok(gw, "PUT", url(shared, "/readstatus?status=Read"), token=org_token("skd"))
        # no instance at all
        await problem(gw, "PUT", f"/storage/api/v1/sbl/instances/500/{GUID}/undelete", 404)
        await problem(gw, "DELETE", f"{STORAGE}/500/{GUID}", 401, token=None)


INSTANCE_CALLS = (
    ("DELETE", "", {}),
    ("PUT", "/substatus", {"json": {"label": "x"}}),
    ("PUT", "/readstatus?status=Read", {}),
    ("POST", "/complete", {}),
)


async def test_a_change_of_an_instance_the_caller_may_not_read_is_403_and_of_none_404(gateway_with):
    # Altinn's InstancesControllerTests Delete_ResponseIsDeny_ReturnsStatusForbidden and
    # Delete_UserHasTooLowAuthLv_ReturnsStatusForbidden, MessageboxInstancesControllerTests
    # Undelete_ResponseIsDeny_ReturnsStatusForbidden, Undelete_UserHasTooLowAuthLv_ReturnsStatusForbidden
    # and Undelete_RestoreNonExistentInstance_ReturnsNotFound: the policy refuses before the
    # controller looks for the instance. GraphQL keeps its NOT_FOUND for what the caller may not see.
    document = make_instance(party_id="500", status=SOFT_DELETED)
    undelete = f"/storage/api/v1/sbl/instances/{document['id']}/undelete"
    async with gateway_with([document], DAGL) as gw:
        for token in (user_token("2", "2"), user_token("1", "1", auth_level=2)):
            for method, tail, kwargs in INSTANCE_CALLS:
                await problem(gw, method, url(document, tail), 403, token=token, **kwargs)
                await problem(gw, method, f"{STORAGE}/500/{GUID}{tail}", 404, token=token, **kwargs)
            await problem(gw, "PUT", undelete, 403, token=token)
            missing = await problem(gw, "PUT", f"/storage/api/v1/sbl/instances/500/{GUID}/undelete", 404, token=token)
        by_graphql = await gw.query(
            "mutation($id: ID!) { deleteInstance(instanceId: $id) { id } }",
            {"id": document["id"]},
            token=user_token("2", "2"),
        )
        assert (await state(gw, document))["events"] == []
    assert missing["detail"] == f"Didn't find the object that should be restored with instanceId=500/{GUID}"
    assert by_graphql["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_deleting_needs_the_policy_and_undeleting_a_hard_deleted_instance_is_404(gateway_with):
    no_delete_rule = make_instance(app_id="ttd/skjema-b", party_id="500")
    gone = make_instance(status=HARD_DELETED)
    async with gateway_with([no_delete_rule, gone], DAGL) as gw:
        denied = await problem(gw, "DELETE", url(no_delete_rule), 403)
        bad_flag = await problem(gw, "DELETE", url(no_delete_rule, "?hard=yes"), 400)
        permanently = await problem(gw, "PUT", f"/storage/api/v1/sbl/instances/{gone['id']}/undelete", 404)
        end_user = await problem(gw, "POST", url(no_delete_rule, "/complete"), 403, token=user_token("1", "1"))
        # what the caller may not see exists all the same: Altinn's policy check refuses it first
        await problem(gw, "DELETE", url(gone), 403, token=user_token("1", "1"))
    assert "may not delete instances of ttd/skjema-b" in denied["detail"]
    assert list(bad_flag["errors"]) == ["hard"]
    assert permanently["detail"] == "Instance was permanently deleted and cannot be restored."
    assert end_user["detail"] == "only a service owner confirms an instance complete"


# --- the audit trail -----------------------------------------------------------------------


async def test_the_audit_trail_agrees_with_graphql(gateway_with):
    document = make_instance(party_id="500")
    async with gateway_with([document], DAGL) as gw:
        await ok(gw, "PUT", url(document, "/substatus"), json={"label": "Received"})
        await ok(gw, "PUT", url(document, "/readstatus?status=Read"), token=user_token("1", "1"))
        trail = await ok(gw, "GET", url(document, "/events"), "InstanceEventList")
        by_graphql = (await state(gw, document))["events"]
        await problem(gw, "GET", f"{STORAGE}/500/{GUID}/events", 404)
    events = trail["instanceEvents"]
    assert (
        [e["eventType"] for e in events] == [e["eventType"] for e in by_graphql] == ["SubstatusUpdated", "MessageRead"]
    )
    assert [e["user"]["orgId"] for e in events] == ["ttd", None]
    assert events[1]["user"]["userId"] == 1
    assert all(e["instanceId"] == document["id"] and e["processInfo"]["currentTask"] for e in events)


# --- the HTTP edge ---------------------------------------------------------------------------


async def test_another_method_is_405_with_allow(gateway_with):
    async with gateway_with() as gw:
        body = await problem(gw, "PATCH", f"{STORAGE}/500/{GUID}", 405)
        response = await call(gw, "POST", f"{STORAGE}/500/{GUID}")
    assert response.headers["allow"] == "GET, DELETE"
    assert "PATCH is not allowed" in body["detail"]


async def test_rest_calls_are_logged_and_counted_with_their_request_id(gateway_with, caplog):
    async with gateway_with() as gw:
        with caplog.at_level(logging.INFO, logger="instance_gateway.requests"):
            response = await call(gw, "GET", f"{STORAGE}/500/{GUID}", headers={"X-Request-ID": "cleanup-42"})
        metrics = (await gw.http.get("/metrics")).text
    assert response.headers["x-request-id"] == response.json()["traceId"] == "cleanup-42"
    [line] = [r for r in caplog.records if r.name == "instance_gateway.requests"]
    assert (line.request_id, line.status, line.caller) == ("cleanup-42", 404, "org")
    assert (line.operation, line.operation_name, line.error_codes) == ("query", "getInstance", ["NOT_FOUND"])
    assert 'gateway_errors_total{code="NOT_FOUND"} 1.0' in metrics


@pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning")
async def test_while_the_database_hangs_every_call_is_a_503(gateway_with):
    with hung_database() as port:
        hung = {"mongodb_url": f"mongodb://127.0.0.1:{port}/", "mongodb_timeout_ms": 500}
        async with gateway_with(policy_dir=DEMO_POLICIES, **hung) as gw:
            query = await problem(gw, "GET", f"{STORAGE}?org=ttd", 503)
            change = await problem(gw, "DELETE", f"{STORAGE}/500/{GUID}", 503)
    assert query["code"] == change["code"] == "SERVICE_UNAVAILABLE"
