"""An instance's audit trail over REST, as Altinn's InstanceEventsController.Get lists it: for
whoever may read the instance, narrowed by eventTypes and a created range, oldest first; and
the PlatformUser each event records, a system user's included."""

from datetime import UTC, datetime
from typing import Any

from app.store.changes import InstanceChanges
from app.timestamps import to_storage
from tests.conftest import user_token
from tests.factories import make_instance
from tests.rest import STORAGE, ok, problem

DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
GUID = "bd9edd59-b18c-4726-aa9e-6b150eade814"
SYSTEM_USER = "5d1d5f2a-6c1e-4b8e-9f5e-0c6a2f3b7d10"
SYSTEM_USER_OWNER = "310000001"
EVENTS_QUERY = "query($id: ID!) { instance(id: $id) { events { user { systemUserId systemUserOwnerOrgNo } } } }"


def events_url(document: dict[str, Any], query: str = "") -> str:
    return f"{STORAGE}/{document['id']}/events" + (f"?{query}" if query else "")


async def event_types(gw, document: dict[str, Any], query: str = "", **kwargs: Any) -> list[str]:
    trail = await ok(gw, "GET", events_url(document, query), "InstanceEventList", **kwargs)
    return [event["eventType"] for event in trail["instanceEvents"]]


async def with_three_events(gw, document: dict[str, Any]) -> None:
    """SubstatusUpdated, MessageRead, Deleted, in that order."""
    await ok(gw, "PUT", f"{STORAGE}/{document['id']}/substatus", json={"label": "Received"})
    await ok(gw, "PUT", f"{STORAGE}/{document['id']}/readstatus?status=Read")
    await ok(gw, "DELETE", f"{STORAGE}/{document['id']}")


async def test_whoever_may_read_the_instance_reads_its_trail(gateway_with):
    # Altinn's InstanceEventsControllerTests: Get_ResponseIsDeny_ReturnStatusForbidden and
    # Get_UserHasToLowAuthLv_ReturnStatusForbidden; the policy's `read` (InstanceRead) decides.
    document = make_instance(party_id="500")
    async with gateway_with([document], DAGL) as gw:
        await with_three_events(gw, document)
        by_end_user = await event_types(gw, document, token=user_token("1", "1"))
        denied = await problem(gw, "GET", events_url(document), 403, token=user_token("2", "2"))
        too_low = await problem(gw, "GET", events_url(document), 403, token=user_token("1", "1", auth_level=2))
        absent = await problem(gw, "GET", f"{STORAGE}/500/{GUID}/events", 404, token=user_token("1", "1"))
    assert by_end_user == ["SubstatusUpdated", "MessageRead", "Deleted"]
    assert denied["code"] == too_low["code"] == "FORBIDDEN"
    assert absent["detail"] == f"Unable to find instance 500/{GUID}."


async def test_event_types_and_a_created_range_narrow_the_trail(gateway_with):
    # Altinn's InstanceEventsController.Get: eventTypes repeated; from and to only together.
    document = make_instance(party_id="500")
    async with gateway_with([document], DAGL) as gw:
        await with_three_events(gw, document)
        one_type = await event_types(gw, document, "eventTypes=Deleted")
        two_types = await event_types(gw, document, "eventTypes=Deleted&eventTypes=SubstatusUpdated")
        unknown_type = await event_types(gw, document, "eventTypes=deleted")
        around_now = await event_types(gw, document, "from=2000-01-01&to=2100-01-01T00:00:00Z")
        in_the_past = await event_types(gw, document, "from=2000-01-01&to=2001-01-01")
        from_alone = await event_types(gw, document, "from=2100-01-01")
        to_alone = await event_types(gw, document, "to=not-a-date")
        both = await event_types(gw, document, "eventTypes=MessageRead&from=2000-01-01&to=2100-01-01")
    assert one_type == ["Deleted"]
    assert two_types == ["SubstatusUpdated", "Deleted"]  # still oldest first
    assert unknown_type == in_the_past == []  # types match exactly, as Altinn's query compares them
    assert around_now == from_alone == to_alone == ["SubstatusUpdated", "MessageRead", "Deleted"]
    assert both == ["MessageRead"]


async def test_a_malformed_time_is_400_with_altinns_words(gateway_with):
    document = make_instance(party_id="500")
    async with gateway_with([document], DAGL) as gw:
        bad = await problem(gw, "GET", events_url(document, "from=2020-01-01&to=yesterday"), 400)
        unknown = await problem(gw, "GET", events_url(document, "eventType=Deleted"), 400)
    assert bad["detail"] == "Unable to perform query. Invalid format for time span. Use string format of UTC."
    assert list(bad["errors"]) == ["to"]
    assert list(unknown["errors"]) == ["eventType"]


async def test_the_store_lists_a_trail_by_type_and_created_range(database):
    # Altinn's InstanceEventTests.DataElement_ListInstanceEvents_Ok: three events, et1 in 1994
    # and 2004 and et2 in 2014; all three, the two et1, and the one since 2013-06-16.
    instance_id = f"500/{GUID}"
    created = ("1994-06-16T11:06:59.085Z", "2004-06-16T11:06:59.085Z", "2014-06-16T11:06:59.085Z")
    await database.instance_events.insert_many(
        [
            {"id": f"event-{n}", "instanceId": instance_id, "eventType": event_type, "created": to_storage(when)}
            for n, (event_type, when) in enumerate(zip(("et1", "et1", "et2"), created, strict=True))
        ]
        + [{"id": "elsewhere", "instanceId": "500/other", "eventType": "et1", "created": to_storage(created[0])}]
    )
    changes = InstanceChanges(database)
    every = await changes.trail_of(instance_id)
    et1 = await changes.trail_of(instance_id, event_types=["et1"])
    since = await changes.trail_of(instance_id, created_between=(to_storage("2013-06-16"), datetime.now(UTC)))
    assert [e["id"] for e in every] == ["event-0", "event-1", "event-2"]
    assert [e["id"] for e in et1] == ["event-0", "event-1"]
    assert [e["id"] for e in since] == ["event-2"]


async def test_a_system_users_events_name_it_and_its_owner(gateway_with):
    # Altinn's PlatformUser, as its InstancesController and MessageboxInstancesController fill it.
    token = user_token(
        user_id=None, party_id=None, system_user_id=SYSTEM_USER, system_user_org_number=SYSTEM_USER_OWNER
    )
    document = make_instance(party_id="500")
    async with gateway_with([document], [{"userId": SYSTEM_USER, "partyId": "500", "roles": ["DAGL"]}]) as gw:
        await ok(gw, "PUT", f"{STORAGE}/{document['id']}/readstatus?status=Read", token=token)
        trail = await ok(gw, "GET", events_url(document), "InstanceEventList", token=token)
        by_graphql = (await gw.data(EVENTS_QUERY, {"id": document["id"]}))["instance"]["events"]
    user = trail["instanceEvents"][0]["user"]
    assert (user["systemUserId"], user["systemUserOwnerOrgNo"], user["userId"]) == (
        SYSTEM_USER,
        SYSTEM_USER_OWNER,
        None,
    )
    assert by_graphql == [{"user": {"systemUserId": SYSTEM_USER, "systemUserOwnerOrgNo": SYSTEM_USER_OWNER}}]


async def test_one_event_reads_as_altinns_get_one(gateway_with):
    # Altinn's InstanceEventTests.DataElement_GetOneEvent_Ok (the event by its id) and
    # InstanceEventsControllerTests.GetOne_ResponseIsDeny_ReturnStatusForbidden and
    # GetOne_UserHasToLowAuthLv_ReturnStatusForbidden (the policy's `read` decides).
    document, other = make_instance(party_id="500"), make_instance(party_id="500")
    async with gateway_with([document, other], DAGL) as gw:
        await with_three_events(gw, document)
        await ok(gw, "PUT", f"{STORAGE}/{other['id']}/readstatus?status=Read")
        trail = (await ok(gw, "GET", events_url(document), "InstanceEventList"))["instanceEvents"]
        others = (await ok(gw, "GET", events_url(other), "InstanceEventList"))["instanceEvents"]
        one_url = f"{events_url(document)}/{trail[1]['id'].upper()}"
        by_end_user = await ok(gw, "GET", one_url, "InstanceEvent", token=user_token("1", "1"))
        by_owner = await ok(gw, "GET", one_url, "InstanceEvent")
        denied = await problem(gw, "GET", one_url, 403, token=user_token("2", "2"))
        too_low = await problem(gw, "GET", one_url, 403, token=user_token("1", "1", auth_level=2))
        # Altinn's NotFound: no such event; and, unlike Altinn's store, another instance's event
        absent = await problem(gw, "GET", f"{events_url(document)}/{GUID}", 404)
        elsewhere = await problem(gw, "GET", f"{events_url(document)}/{others[0]['id']}", 404)
        no_instance = await problem(gw, "GET", f"{STORAGE}/500/{GUID}/events/{trail[0]['id']}", 404)
        malformed = await problem(gw, "GET", f"{events_url(document)}/not-a-guid", 400)
    assert by_end_user == by_owner == trail[1]
    assert by_owner["eventType"] == "MessageRead"
    assert denied["code"] == too_low["code"] == "FORBIDDEN"
    assert absent["detail"] == f"Unable to find event {GUID} of instance {document['id']}."
    assert elsewhere["code"] == "NOT_FOUND"
    assert no_instance["detail"] == f"Unable to find instance 500/{GUID}."
    assert list(malformed["errors"]) == ["eventGuid"]
