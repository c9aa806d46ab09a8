"""Each mutation's rules, as altinn-storage.md "Changing instances" states them, and the audit
trail every change leaves."""

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from app.store.changes import Actor, InstanceChanges
from app.store.database import connect
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.conftest import TEST_SECRET, org_token, user_token
from tests.factories import make_instance

ORG_NUMBER = "991825827"  # what org_token() puts in urn:altinn:orgNumber
DAGL = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]

STATUS = (
    "status { isArchived isSoftDeleted isHardDeleted archived softDeleted hardDeleted readStatus "
    "substatus { label description messageBoxLabel } }"
)
INSTANCE = f"id lastChanged lastChangedBy {STATUS} completeConfirmations {{ stakeholderId confirmedOn }}"
READ = f"query($id: ID!) {{ instance(id: $id) {{ {INSTANCE} }} }}"
EVENTS = (
    "query($id: ID!) { instance(id: $id) { org events { id instanceId created eventType instanceOwnerPartyId "
    "user { userId orgId authenticationLevel } processInfo { currentTask { elementId } endEvent } } } }"
)
SET_SUBSTATUS = (
    f"mutation($id: ID!, $s: SubstatusInput) {{ setSubstatus(instanceId: $id, substatus: $s) {{ {INSTANCE} }} }}"
)
DELETE = f"mutation($id: ID!, $hard: Boolean!) {{ deleteInstance(instanceId: $id, hard: $hard) {{ {INSTANCE} }} }}"
RESTORE = f"mutation($id: ID!) {{ restoreInstance(instanceId: $id) {{ {INSTANCE} }} }}"
CONFIRM = f"mutation($id: ID!) {{ confirmComplete(instanceId: $id) {{ {INSTANCE} }} }}"
READ_STATUS = f"mutation($id: ID!, $s: ReadStatus!) {{ setReadStatus(instanceId: $id, status: $s) {{ {INSTANCE} }} }}"
DELETE_MANY = (
    "mutation($filter: InstanceFilter!, $dryRun: Boolean!, $hard: Boolean! = false, $limit: Int) "
    "{ deleteInstances(filter: $filter, dryRun: $dryRun, hard: $hard, limit: $limit) "
    "{ matched deleted dryRun instanceIds failed { instanceId code message } } }"
)


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Clock:
    """The span a request ran in, widened to the store's millisecond precision."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC) - timedelta(milliseconds=2)

    def saw(self, value: str | None) -> bool:
        moment = when(value)
        return moment is not None and self.start <= moment <= datetime.now(UTC) + timedelta(milliseconds=2)


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    [error] = body["errors"]
    return error


async def trail(gw, instance_id: str) -> list[dict[str, Any]]:
    return (await gw.data(EVENTS, {"id": instance_id}))["instance"]["events"]


async def event_types(gw, instance_id: str) -> list[str]:
    return [e["eventType"] for e in await trail(gw, instance_id)]


async def read(gw, instance_id: str) -> dict[str, Any]:
    return (await gw.data(READ, {"id": instance_id}))["instance"]


# --- setSubstatus ---------------------------------------------------------------------------


async def test_set_substatus_replaces_the_whole_substatus_and_records_it(gateway_with):
    doc = make_instance(party_id="500")
    async with gateway_with([doc]) as gw:
        clock = Clock()
        first = await gw.data(
            SET_SUBSTATUS, {"id": doc["id"], "s": {"label": "accepted", "description": "By the king"}}
        )
        changed = first["setSubstatus"]
        assert changed["status"]["substatus"] == {
            "label": "accepted",
            "description": "By the king",
            "messageBoxLabel": "accepted",
        }
        assert clock.saw(changed["lastChanged"])
        assert changed["lastChangedBy"] == ORG_NUMBER
        # a substatus without description replaces the old one whole
        second = (await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": "rejected"}}))["setSubstatus"]
        assert second["status"]["substatus"] == {
            "label": "rejected",
            "description": None,
            "messageBoxLabel": "rejected",
        }
        assert (await read(gw, doc["id"]))["status"]["substatus"]["description"] is None
        assert await event_types(gw, doc["id"]) == ["SubstatusUpdated", "SubstatusUpdated"]
        # nothing else in the status moved
        assert second["status"]["isSoftDeleted"] is False
        assert second["status"]["readStatus"] == "UNREAD"


async def test_set_substatus_with_an_explicit_null_description_stores_none(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        data = await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": "x", "description": None}})
    assert data["setSubstatus"]["status"]["substatus"] == {"label": "x", "description": None, "messageBoxLabel": "x"}


async def test_set_substatus_null_clears_it(gateway_with):
    doc = make_instance(status={"substatus": {"label": "old", "description": "old text"}})
    async with gateway_with([doc]) as gw:
        clock = Clock()
        changed = (await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": None}))["setSubstatus"]
        assert changed["status"]["substatus"] is None
        assert (await read(gw, doc["id"]))["status"]["substatus"] is None
        assert clock.saw(changed["lastChanged"])
        assert await event_types(gw, doc["id"]) == ["SubstatusUpdated"]


async def test_set_substatus_compares_the_org_ignoring_case(gateway_with):
    doc = make_instance()
    claims = {
        "urn:altinn:org": "TTD",
        "urn:altinn:orgNumber": ORG_NUMBER,
        "scope": "altinn:serviceowner/instances.read altinn:serviceowner/instances.write",
        "urn:altinn:authlevel": 3,
        "exp": datetime.now(UTC) + timedelta(hours=1),
    }
    upper_case_token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    async with gateway_with([doc]) as gw:
        data = await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": "ok"}}, token=upper_case_token)
    assert data["setSubstatus"]["status"]["substatus"]["label"] == "ok"


@pytest.mark.parametrize("label", ["", "   "], ids=["empty", "blank"])
async def test_set_substatus_needs_a_label(gateway_with, label):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        body = await gw.query(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": label, "description": "d"}})
        assert error_of(body)["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await read(gw, doc["id"]))["status"]["substatus"] is None
        assert await trail(gw, doc["id"]) == []


async def test_set_substatus_without_a_label_field_is_bad_input(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        body = await gw.query(SET_SUBSTATUS, {"id": doc["id"], "s": {"description": "no label"}})
        assert error_of(body)["extensions"]["code"] == "BAD_USER_INPUT"
        assert await trail(gw, doc["id"]) == []


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("short", "short"),
        ("x" * 25, "x" * 25),
        ("x" * 26, "x" * 22 + "..."),
        ("Your application is being processed", "Your application is be..."),
    ],
    ids=["short", "25-chars-as-is", "26-chars-cut", "sentence-cut"],
)
async def test_the_message_box_shows_at_most_25_characters_of_a_label(gateway_with, label, shown):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        data = await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": label}})
    assert data["setSubstatus"]["status"]["substatus"]["label"] == label
    assert data["setSubstatus"]["status"]["substatus"]["messageBoxLabel"] == shown


@pytest.mark.parametrize(
    "mutation",
    [
        ('setSubstatus(instanceId: $id, substatus: {label: "x"})'),
        "deleteInstance(instanceId: $id)",
        "deleteInstance(instanceId: $id, hard: true)",
        "restoreInstance(instanceId: $id)",
        "confirmComplete(instanceId: $id)",
        "setReadStatus(instanceId: $id, status: READ)",
    ],
    ids=[
        "setSubstatus",
        "deleteInstance",
        "deleteInstance-hard",
        "restoreInstance",
        "confirmComplete",
        "setReadStatus",
    ],
)
async def test_a_missing_instance_is_not_found(gateway_with, mutation):
    async with gateway_with([make_instance()]) as gw:
        body = await gw.query(f"mutation($id: ID!) {{ {mutation} {{ id }} }}", {"id": "1337/no-such-instance"})
    assert error_of(body)["extensions"]["code"] == "NOT_FOUND"
    assert body["data"] is None


async def test_changes_work_on_an_old_document_with_null_status_and_confirmations(gateway_with):
    doc = make_instance(status=None, completeConfirmations=None)
    async with gateway_with([doc]) as gw:
        substatus = (await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": "ok"}}))["setSubstatus"]
        assert substatus["status"]["substatus"]["label"] == "ok"
        assert substatus["status"]["isSoftDeleted"] is False
        assert substatus["status"]["readStatus"] == "UNREAD"
        confirmed = (await gw.data(CONFIRM, {"id": doc["id"]}))["confirmComplete"]
        assert [c["stakeholderId"] for c in confirmed["completeConfirmations"]] == ["ttd"]
        deleted = (await gw.data(DELETE, {"id": doc["id"], "hard": False}))["deleteInstance"]
        assert deleted["status"]["isSoftDeleted"] is True
        assert deleted["status"]["substatus"]["label"] == "ok"
        assert await event_types(gw, doc["id"]) == ["SubstatusUpdated", "ConfirmedComplete", "Deleted"]


async def test_read_status_and_delete_work_on_a_document_without_status(gateway_with):
    doc = make_instance()
    del doc["status"]
    async with gateway_with([doc]) as gw:
        data = await gw.data(READ_STATUS, {"id": doc["id"], "s": "READ"})
        assert data["setReadStatus"]["status"]["readStatus"] == "READ"
        data = await gw.data(DELETE, {"id": doc["id"], "hard": True})
        assert data["deleteInstance"]["status"]["isHardDeleted"] is True


# --- deleteInstance -----------------------------------------------------------------------


async def test_soft_delete_moves_the_instance_to_the_recycle_bin(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        clock = Clock()
        changed = (await gw.data(DELETE, {"id": doc["id"], "hard": False}))["deleteInstance"]
        status = changed["status"]
        assert (status["isSoftDeleted"], status["isHardDeleted"], status["hardDeleted"]) == (True, False, None)
        assert clock.saw(status["softDeleted"])
        assert changed["lastChanged"] == status["softDeleted"]
        assert changed["lastChangedBy"] == ORG_NUMBER
        assert await event_types(gw, doc["id"]) == ["Deleted"]
        # still listed (the recycle bin), unless filtered out
        listed = await gw.data("{ instances { totalCount } }")
        assert listed["instances"]["totalCount"] == 1
        active = await gw.data("{ instances(filter: {status: {isSoftDeleted: false}}) { totalCount } }")
        assert active["instances"]["totalCount"] == 0


async def test_hard_delete_sets_both_flags_and_times(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        clock = Clock()
        changed = (await gw.data(DELETE, {"id": doc["id"], "hard": True}))["deleteInstance"]
        status = changed["status"]
        assert status["isHardDeleted"] is True
        assert status["isSoftDeleted"] is True
        assert clock.saw(status["hardDeleted"])
        assert status["softDeleted"] == status["hardDeleted"]
        assert changed["lastChanged"] == status["hardDeleted"]
        assert changed["lastChangedBy"] == ORG_NUMBER
        assert await event_types(gw, doc["id"]) == ["Deleted"]
        # left out of lists unless asked for
        assert (await gw.data("{ instances { totalCount } }"))["instances"]["totalCount"] == 0
        asked = await gw.data("{ instances(filter: {status: {isHardDeleted: true}}) { nodes { id } } }")
        assert asked["instances"]["nodes"] == [{"id": doc["id"]}]


async def test_hard_delete_keeps_the_time_it_went_to_the_recycle_bin(gateway_with):
    doc = make_instance(status={"isSoftDeleted": True, "softDeleted": "2024-02-01T08:00:00Z"})
    async with gateway_with([doc]) as gw:
        clock = Clock()
        status = (await gw.data(DELETE, {"id": doc["id"], "hard": True}))["deleteInstance"]["status"]
        assert when(status["softDeleted"]) == when("2024-02-01T08:00:00Z")
        assert status["isHardDeleted"] is True
        assert clock.saw(status["hardDeleted"])
        assert await event_types(gw, doc["id"]) == ["Deleted"]


async def test_a_hard_delete_after_a_soft_delete_keeps_its_time_and_comes_later(store):
    database = connect(store.url, store.new_database())
    doc = normalize_instance(make_instance())
    await write_all(database, [doc], [])
    changes = InstanceChanges(database)
    actor = Actor(changed_by=ORG_NUMBER, user_id=None, org="ttd", authentication_level=3)
    try:
        soft = await changes.soft_delete(doc, actor)
        hard = await changes.hard_delete(soft.document, actor)
    finally:
        await database.close()
    assert hard is not None and hard.changed
    status = hard.document["status"]
    assert status["softDeleted"] == soft.document["status"]["softDeleted"]
    assert status["softDeleted"] < status["hardDeleted"] == hard.document["lastChanged"]


@pytest.mark.parametrize(
    ("first_hard", "again_hard"),
    [(False, False), (True, True), (True, False)],
    ids=["soft-then-soft", "hard-then-hard", "hard-then-soft"],
)
async def test_deleting_again_is_no_error_and_records_nothing(gateway_with, first_hard, again_hard):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        first = (await gw.data(DELETE, {"id": doc["id"], "hard": first_hard}))["deleteInstance"]
        again = (await gw.data(DELETE, {"id": doc["id"], "hard": again_hard}))["deleteInstance"]
        assert again == first
        assert await event_types(gw, doc["id"]) == ["Deleted"]


async def test_soft_then_hard_delete_records_two_changes(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        soft = (await gw.data(DELETE, {"id": doc["id"], "hard": False}))["deleteInstance"]
        hard = (await gw.data(DELETE, {"id": doc["id"], "hard": True}))["deleteInstance"]
        assert hard["status"]["softDeleted"] == soft["status"]["softDeleted"]
        assert hard["status"]["isHardDeleted"] is True
        assert await event_types(gw, doc["id"]) == ["Deleted", "Deleted"]


@pytest.mark.parametrize(
    ("app_id", "token", "expected"),
    [
        ("ttd/skjema-a", "ttd", "ok"),
        ("ttd/skjema-b", "ttd", "FORBIDDEN"),
        ("ttd/melding", "ttd", "FORBIDDEN"),
        ("ttd/skjema-a", "dagl", "ok"),
        ("ttd/skjema-b", "dagl", "ok"),
        ("ttd/skjema-a", "dagl-auth-level-2", "NOT_FOUND"),
    ],
    ids=[
        "ttd-skjema-a-has-org-can-delete",
        "ttd-skjema-b-lacks-it",
        "ttd-melding-lacks-it",
        "dagl-skjema-a",
        "dagl-skjema-b",
        "dagl-below-auth-level",
    ],
)
async def test_delete_needs_the_policy_action_delete(gateway_with, app_id, token, expected):
    tokens = {
        "ttd": org_token(),
        "dagl": user_token("1", "1"),
        "dagl-auth-level-2": user_token("1", "1", auth_level=2),
    }
    doc = make_instance(party_id="500", app_id=app_id)
    async with gateway_with([doc], DAGL) as gw:
        body = await gw.query(DELETE, {"id": doc["id"], "hard": False}, token=tokens[token])
        after = await read(gw, doc["id"])
        if expected == "ok":
            assert "errors" not in body, body
            assert after["status"]["isSoftDeleted"] is True
            assert await event_types(gw, doc["id"]) == ["Deleted"]
        else:
            assert error_of(body)["extensions"]["code"] == expected
            assert after["status"]["isSoftDeleted"] is False
            assert when(after["lastChanged"]) == when("2024-01-01T10:00:00Z")
            assert await trail(gw, doc["id"]) == []


def archived_days_ago(days: int) -> dict[str, Any]:
    moment = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    return {"isArchived": True, "archived": moment, "isSoftDeleted": False, "isHardDeleted": False}


ENDED = {
    "started": "2024-01-01T10:00:00Z",
    "startEvent": "StartEvent_1",
    "ended": "2024-01-02T10:00:00Z",
    "endEvent": "EndEvent_1",
}
PREVENT_CASES = [
    ("skjema-b", archived_days_ago(10), False, "too-soon"),
    ("skjema-b", archived_days_ago(10), True, "too-soon"),
    ("skjema-b", archived_days_ago(29), False, "too-soon"),
    ("skjema-b", archived_days_ago(31), False, "ok"),
    ("skjema-b", archived_days_ago(40), True, "ok"),
    ("skjema-b", None, False, "ok"),
    ("skjema-a", archived_days_ago(1), False, "ok"),
]


@pytest.mark.parametrize(
    ("app", "status", "hard", "expected"),
    PREVENT_CASES,
    ids=[
        "skjema-b-archived-10-days-ago",
        "skjema-b-archived-10-days-ago-hard",
        "skjema-b-archived-29-days-ago",
        "skjema-b-archived-31-days-ago",
        "skjema-b-archived-40-days-ago-hard",
        "skjema-b-draft",
        "skjema-a-has-no-restriction",
    ],
)
async def test_prevent_instance_deletion_for_days(gateway_with, app, status, hard, expected):
    fields: dict[str, Any] = {"status": status, "process": ENDED} if status else {}
    doc = make_instance(party_id="500", app_id=f"ttd/{app}", **fields)
    async with gateway_with([doc], DAGL) as gw:
        body = await gw.query(DELETE, {"id": doc["id"], "hard": hard}, token=user_token("1", "1"))
        if expected == "ok":
            assert "errors" not in body, body
            assert body["data"]["deleteInstance"]["status"]["isSoftDeleted"] is True
            assert body["data"]["deleteInstance"]["status"]["isHardDeleted"] is hard
        else:
            error = error_of(body)
            assert error["extensions"]["code"] == "FORBIDDEN"
            assert error["message"] == "Instance cannot be deleted yet due to application restrictions."
            assert (await read(gw, doc["id"]))["status"]["isSoftDeleted"] is False
            assert await trail(gw, doc["id"]) == []


# --- restoreInstance --------------------------------------------------------------------


async def test_restore_takes_an_instance_out_of_the_recycle_bin(gateway_with):
    doc = make_instance(status={"isSoftDeleted": True, "softDeleted": "2024-02-01T08:00:00Z"})
    async with gateway_with([doc]) as gw:
        clock = Clock()
        restored = (await gw.data(RESTORE, {"id": doc["id"]}))["restoreInstance"]
        assert restored["status"]["isSoftDeleted"] is False
        assert restored["status"]["softDeleted"] is None
        assert clock.saw(restored["lastChanged"])
        assert restored["lastChangedBy"] == ORG_NUMBER
        assert await event_types(gw, doc["id"]) == ["Undeleted"]
        # restoring again changes nothing
        again = (await gw.data(RESTORE, {"id": doc["id"]}))["restoreInstance"]
        assert again == restored
        assert await event_types(gw, doc["id"]) == ["Undeleted"]


async def test_a_hard_deleted_instance_cannot_be_restored(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        deleted = (await gw.data(DELETE, {"id": doc["id"], "hard": True}))["deleteInstance"]
        body = await gw.query(RESTORE, {"id": doc["id"]})
        error = error_of(body)
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert error["message"] == "Instance was permanently deleted and cannot be restored."
        assert await read(gw, doc["id"]) == deleted
        assert await event_types(gw, doc["id"]) == ["Deleted"]


async def test_a_hard_deleted_instance_is_still_changed_by_its_app_owner_as_altinn_does(gateway_with):
    # Altinn Storage's substatus, complete-confirmation and read-status calls do not look at
    # isHardDeleted; its purge waits for an archived, hard-deleted instance's confirmation.
    doc = make_instance(party_id="500")
    dagl = [{"userId": "1", "partyId": "500", "roles": ["DAGL"]}]
    async with gateway_with([doc], dagl) as gw:
        await gw.data(DELETE, {"id": doc["id"], "hard": True})
        substatus = (await gw.data(SET_SUBSTATUS, {"id": doc["id"], "s": {"label": "closed"}}))["setSubstatus"]
        assert (substatus["status"]["isHardDeleted"], substatus["status"]["substatus"]["label"]) == (True, "closed")
        confirmed = (await gw.data(CONFIRM, {"id": doc["id"]}))["confirmComplete"]
        assert [c["stakeholderId"] for c in confirmed["completeConfirmations"]] == ["ttd"]
        assert await event_types(gw, doc["id"]) == ["Deleted", "SubstatusUpdated", "ConfirmedComplete"]
        # an end user never sees a hard-deleted instance, so has nothing to change
        body = await gw.query(READ_STATUS, {"id": doc["id"], "s": "READ"}, token=user_token("1", "1"))
        assert error_of(body)["extensions"]["code"] == "NOT_FOUND"


async def test_a_restore_the_policy_denies_says_restore(gateway_with):
    doc = make_instance(app_id="ttd/skjema-b", status={"isSoftDeleted": True, "softDeleted": "2024-02-01T08:00:00Z"})
    async with gateway_with([doc]) as gw:
        error = error_of(await gw.query(RESTORE, {"id": doc["id"]}))
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "may not restore instances of ttd/skjema-b" in error["message"]
    assert "it needs `delete`" in error["message"]


async def test_restoring_an_instance_that_is_not_deleted_changes_nothing(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        before = await read(gw, doc["id"])
        restored = (await gw.data(RESTORE, {"id": doc["id"]}))["restoreInstance"]
        assert restored == before
        assert when(restored["lastChanged"]) == when("2024-01-01T10:00:00Z")
        assert await trail(gw, doc["id"]) == []


async def test_delete_restore_delete_leaves_a_trail_of_three(gateway_with):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        await gw.data(DELETE, {"id": doc["id"], "hard": False})
        await gw.data(RESTORE, {"id": doc["id"]})
        again = (await gw.data(DELETE, {"id": doc["id"], "hard": False}))["deleteInstance"]
        assert again["status"]["isSoftDeleted"] is True
        assert again["status"]["softDeleted"] is not None
        assert await event_types(gw, doc["id"]) == ["Deleted", "Undeleted", "Deleted"]


# --- confirmComplete ----------------------------------------------------------------------


async def test_confirm_complete_appends_the_org_once(gateway_with):
    doc = make_instance(completeConfirmations=[{"stakeholderId": "skd", "confirmedOn": "2024-01-03T00:00:00Z"}])
    async with gateway_with([doc]) as gw:
        clock = Clock()
        confirmed = (await gw.data(CONFIRM, {"id": doc["id"]}))["confirmComplete"]
        skd, ttd = confirmed["completeConfirmations"]
        assert skd["stakeholderId"] == "skd"
        assert when(skd["confirmedOn"]) == when("2024-01-03T00:00:00Z")
        assert ttd["stakeholderId"] == "ttd"
        assert clock.saw(ttd["confirmedOn"])
        assert confirmed["lastChanged"] == ttd["confirmedOn"]
        assert confirmed["lastChangedBy"] == ORG_NUMBER
        # idempotent for the same org: nothing added, nothing recorded, lastChanged stays
        again = (await gw.data(CONFIRM, {"id": doc["id"]}))["confirmComplete"]
        assert again == confirmed
        assert await event_types(gw, doc["id"]) == ["ConfirmedComplete"]


async def test_confirm_complete_is_for_service_owners(gateway_with):
    doc = make_instance(party_id="500")
    async with gateway_with([doc], DAGL) as gw:
        body = await gw.query(CONFIRM, {"id": doc["id"]}, token=user_token("1", "1"))
        assert error_of(body)["extensions"]["code"] == "FORBIDDEN"
        assert (await read(gw, doc["id"]))["completeConfirmations"] == []
        assert await trail(gw, doc["id"]) == []


# --- setReadStatus ----------------------------------------------------------------------


@pytest.mark.parametrize("read_status", ["READ", "UPDATED_SINCE_LAST_REVIEW"])
async def test_set_read_status_changes_no_last_changed(gateway_with, read_status):
    doc = make_instance(party_id="500")
    async with gateway_with([doc], DAGL) as gw:
        changed = await gw.data(READ_STATUS, {"id": doc["id"], "s": read_status}, token=user_token("1", "1"))
        assert changed["setReadStatus"]["status"]["readStatus"] == read_status
        assert when(changed["setReadStatus"]["lastChanged"]) == when("2024-01-01T10:00:00Z")
        assert changed["setReadStatus"]["lastChangedBy"] == "500"
        assert (await read(gw, doc["id"]))["status"]["readStatus"] == read_status
        [event] = await trail(gw, doc["id"])
        assert event["eventType"] == "MessageRead"
        assert event["user"] == {"userId": "1", "orgId": None, "authenticationLevel": 3}


async def test_set_read_status_back_to_unread_and_a_repeat_records_nothing(gateway_with):
    doc = make_instance(party_id="500", status={"readStatus": "Read"})
    async with gateway_with([doc], DAGL) as gw:
        token = user_token("1", "1")
        first = (await gw.data(READ_STATUS, {"id": doc["id"], "s": "UNREAD"}, token=token))["setReadStatus"]
        again = (await gw.data(READ_STATUS, {"id": doc["id"], "s": "UNREAD"}, token=token))["setReadStatus"]
        assert first["status"]["readStatus"] == again["status"]["readStatus"] == "UNREAD"
        assert await event_types(gw, doc["id"]) == ["MessageRead"]


@pytest.mark.parametrize("stored", [None, "Unread"], ids=["absent", "stored-unread"])
async def test_set_read_status_unread_on_an_unread_instance_records_nothing(gateway_with, stored):
    doc = make_instance(status={} if stored is None else {"readStatus": stored})
    async with gateway_with([doc]) as gw:
        data = await gw.data(READ_STATUS, {"id": doc["id"], "s": "UNREAD"})
        assert data["setReadStatus"]["status"]["readStatus"] == "UNREAD"
        assert await trail(gw, doc["id"]) == []


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("mutation($id: ID!) { setReadStatus(instanceId: $id, status: SEEN) { id } }", {}),
        (READ_STATUS, {"s": "Read"}),
        (READ_STATUS, {"s": "SEEN"}),
    ],
    ids=["unknown-literal", "altinn-spelling-as-variable", "unknown-variable"],
)
async def test_an_invalid_read_status_is_bad_input(gateway_with, query, variables):
    doc = make_instance()
    async with gateway_with([doc]) as gw:
        body = await gw.query(query, {"id": doc["id"], **variables})
        assert error_of(body)["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await read(gw, doc["id"]))["status"]["readStatus"] == "UNREAD"
        assert await trail(gw, doc["id"]) == []


# --- deleteInstances ----------------------------------------------------------------------


def skjema_a_and_b() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    a = [make_instance(app_id="ttd/skjema-a", lastChanged=f"2024-01-0{d}T10:00:00Z") for d in range(1, 4)]
    b = [make_instance(app_id="ttd/skjema-b", lastChanged=f"2024-02-0{d}T10:00:00Z") for d in range(1, 3)]
    return a, b


BOTH_APPS = {"appId": {"in": ["ttd/skjema-a", "ttd/skjema-b"]}}


async def test_delete_instances_is_a_dry_run_by_default(gateway_with):
    a, b = skjema_a_and_b()
    async with gateway_with(a + b) as gw:
        data = await gw.data(
            "mutation($f: InstanceFilter!) { deleteInstances(filter: $f) "
            "{ matched deleted dryRun instanceIds failed { instanceId } } }",
            {"f": BOTH_APPS},
        )
        result = data["deleteInstances"]
        assert result["dryRun"] is True
        assert result["matched"] == 5
        assert result["deleted"] == 0
        assert result["failed"] == []
        # newest change first, like `instances`
        assert result["instanceIds"] == [d["id"] for d in reversed(b)] + [d["id"] for d in reversed(a)]
        untouched = await gw.data("{ instances(filter: {status: {isSoftDeleted: false}}) { totalCount } }")
        assert untouched["instances"]["totalCount"] == 5
        for doc in a + b:
            assert await trail(gw, doc["id"]) == []


@pytest.mark.parametrize("limit", [0, -1, 1001], ids=["zero", "negative", "over-1000"])
async def test_delete_instances_limit_is_1_to_1000(gateway_with, limit):
    a, b = skjema_a_and_b()
    async with gateway_with(a + b) as gw:
        body = await gw.query(DELETE_MANY, {"filter": BOTH_APPS, "dryRun": False, "limit": limit})
        assert error_of(body)["extensions"]["code"] == "BAD_USER_INPUT"
        active = await gw.data("{ instances(filter: {status: {isSoftDeleted: false}}) { totalCount } }")
        assert active["instances"]["totalCount"] == 5


@pytest.mark.parametrize("limit", [1, 1000])
async def test_delete_instances_accepts_the_limits_bounds(gateway_with, limit):
    a, _ = skjema_a_and_b()
    async with gateway_with(a) as gw:
        data = await gw.data(DELETE_MANY, {"filter": BOTH_APPS, "dryRun": True, "limit": limit})
    assert data["deleteInstances"]["matched"] == 3
    assert len(data["deleteInstances"]["instanceIds"]) == min(limit, 3)


async def test_delete_instances_deletes_at_most_limit(gateway_with):
    a, _ = skjema_a_and_b()
    async with gateway_with(a) as gw:
        data = await gw.data(DELETE_MANY, {"filter": BOTH_APPS, "dryRun": False, "limit": 2})
        result = data["deleteInstances"]
        assert (result["matched"], result["deleted"], result["failed"]) == (3, 2, [])
        assert result["instanceIds"] == [a[2]["id"], a[1]["id"]]
        deleted = await gw.data("{ instances(filter: {status: {isSoftDeleted: true}}) { nodes { id } } }")
        assert {n["id"] for n in deleted["instances"]["nodes"]} == {a[2]["id"], a[1]["id"]}


async def test_delete_instances_checks_each_instance_and_lists_the_refused(gateway_with):
    a, b = skjema_a_and_b()
    async with gateway_with(a + b) as gw:
        result = (await gw.data(DELETE_MANY, {"filter": BOTH_APPS, "dryRun": False}))["deleteInstances"]
        assert result["dryRun"] is False
        assert result["matched"] == 5
        assert result["deleted"] == 3
        assert {f["instanceId"] for f in result["failed"]} == {d["id"] for d in b}
        for failure in result["failed"]:
            assert failure["code"] == "FORBIDDEN"
            assert "ttd/skjema-b" in failure["message"]
            assert "delete" in failure["message"]
        for doc in a:
            assert (await read(gw, doc["id"]))["status"]["isSoftDeleted"] is True
            assert await event_types(gw, doc["id"]) == ["Deleted"]
        # nothing half-written on the refused ones
        for doc in b:
            after = await read(gw, doc["id"])
            assert after["status"]["isSoftDeleted"] is False
            assert when(after["lastChanged"]) == when(doc["lastChanged"])
            assert await trail(gw, doc["id"]) == []


async def test_delete_instances_hard_leaves_them_out_of_lists(gateway_with):
    a, b = skjema_a_and_b()
    async with gateway_with(a + b) as gw:
        result = (await gw.data(DELETE_MANY, {"filter": BOTH_APPS, "dryRun": False, "hard": True}))["deleteInstances"]
        assert result["deleted"] == 3
        remaining = await gw.data("{ instances { nodes { appId } } }")
        assert [n["appId"] for n in remaining["instances"]["nodes"]] == ["ttd/skjema-b", "ttd/skjema-b"]
        gone = await gw.data("{ instances(filter: {status: {isHardDeleted: true}}) { totalCount } }")
        assert gone["instances"]["totalCount"] == 3


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
async def test_delete_instances_counts_as_deleted_only_what_this_call_changed(gateway_with, hard):
    a, _ = skjema_a_and_b()
    already = make_instance(
        app_id="ttd/skjema-a",
        lastChanged="2024-01-09T10:00:00Z",
        status={"isSoftDeleted": True, "softDeleted": "2024-01-09T10:00:00Z", "isHardDeleted": hard},
    )
    mutation = DELETE_MANY.replace("failed {", "unchanged unchangedIds failed {")
    # hard-deleted or not: the hard-deleted ones are found too, so that a rerun finds them again
    everything = {"appId": {"eq": "ttd/skjema-a"}, "or": [{"status": {"isHardDeleted": f}} for f in (True, False)]}
    async with gateway_with([*a, already]) as gw:
        first = (await gw.data(mutation, {"filter": everything, "dryRun": False, "hard": hard}))["deleteInstances"]
        assert (first["matched"], first["deleted"], first["unchanged"]) == (4, 3, 1)
        assert first["unchangedIds"] == [already["id"]]
        assert await trail(gw, already["id"]) == []

        again = (await gw.data(mutation, {"filter": everything, "dryRun": False, "hard": hard}))["deleteInstances"]
        assert (again["deleted"], again["unchanged"], again["failed"]) == (0, 4, [])
        assert set(again["unchangedIds"]) == set(again["instanceIds"]) == {d["id"] for d in [*a, already]}
        for doc in a:
            assert await event_types(gw, doc["id"]) == ["Deleted"]


async def test_a_dry_run_reports_nothing_deleted_nor_unchanged(gateway_with):
    a, _ = skjema_a_and_b()
    mutation = DELETE_MANY.replace("failed {", "unchanged unchangedIds failed {")
    async with gateway_with(a) as gw:
        result = (await gw.data(mutation, {"filter": BOTH_APPS, "dryRun": True}))["deleteInstances"]
    assert (result["matched"], result["deleted"], result["unchanged"], result["unchangedIds"]) == (3, 0, 0, [])


async def test_delete_instances_respects_prevent_instance_deletion_for_days(gateway_with):
    recent = make_instance(party_id="500", app_id="ttd/skjema-b", status=archived_days_ago(5), process=ENDED)
    old = make_instance(party_id="500", app_id="ttd/skjema-b", status=archived_days_ago(45), process=ENDED)
    async with gateway_with([recent, old], DAGL) as gw:
        data = await gw.data(
            DELETE_MANY, {"filter": {"appId": {"eq": "ttd/skjema-b"}}, "dryRun": False}, token=user_token("1", "1")
        )
        result = data["deleteInstances"]
        assert result["deleted"] == 1
        assert result["failed"] == [
            {
                "instanceId": recent["id"],
                "code": "FORBIDDEN",
                "message": "Instance cannot be deleted yet due to application restrictions.",
            }
        ]
        assert (await read(gw, old["id"]))["status"]["isSoftDeleted"] is True
        assert (await read(gw, recent["id"]))["status"]["isSoftDeleted"] is False


# --- the audit trail ----------------------------------------------------------------------


async def test_each_change_appends_exactly_one_event_with_who_and_where(gateway_with):
    doc = make_instance(party_id="500")
    dagl = user_token("1", "1", auth_level=4)
    async with gateway_with([doc], DAGL) as gw:
        steps = [
            (SET_SUBSTATUS, {"s": {"label": "a"}}, None, "SubstatusUpdated"),
            (READ_STATUS, {"s": "READ"}, dagl, "MessageRead"),
            (CONFIRM, {}, None, "ConfirmedComplete"),
            (DELETE, {"hard": False}, dagl, "Deleted"),
            (RESTORE, {}, None, "Undeleted"),
            (DELETE, {"hard": True}, None, "Deleted"),
        ]
        for number, (mutation, variables, token, _) in enumerate(steps, start=1):
            kwargs = {"token": token} if token else {}
            await gw.data(mutation, {"id": doc["id"], **variables}, **kwargs)
            assert len(await trail(gw, doc["id"])) == number
        events = await trail(gw, doc["id"])
    assert [e["eventType"] for e in events] == [s[3] for s in steps]
    assert len({e["id"] for e in events}) == len(events)
    assert [e["created"] for e in events] == sorted(e["created"] for e in events)
    for event, (_, _, token, _) in zip(events, steps, strict=True):
        assert event["instanceId"] == doc["id"]
        assert event["instanceOwnerPartyId"] == "500"
        assert event["processInfo"] == {"currentTask": {"elementId": "Task_1"}, "endEvent": None}
        if token is None:
            assert event["user"] == {"userId": None, "orgId": "ttd", "authenticationLevel": 3}
        else:
            assert event["user"] == {"userId": "1", "orgId": None, "authenticationLevel": 4}


async def test_an_end_user_who_selects_the_trail_loses_only_the_trail(gateway_with):
    doc = make_instance(party_id="500")
    query = "query($id: ID!) { instance(id: $id) { id events { eventType } } instances { nodes { id events { id } } } }"
    async with gateway_with([doc], DAGL) as gw:
        body = await gw.query(query, {"id": doc["id"]}, token=user_token("1", "1"))
    assert body["data"] == {
        "instance": {"id": doc["id"], "events": None},
        "instances": {"nodes": [{"id": doc["id"], "events": None}]},
    }
    assert {tuple(e["path"]) for e in body["errors"]} == {("instance", "events"), ("instances", "nodes", 0, "events")}
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_an_event_copies_the_process_state_of_an_ended_instance(gateway_with):
    doc = make_instance(process=ENDED, status=archived_days_ago(100))
    async with gateway_with([doc]) as gw:
        await gw.data(CONFIRM, {"id": doc["id"]})
        [event] = await trail(gw, doc["id"])
    assert event["processInfo"] == {"currentTask": None, "endEvent": "EndEvent_1"}
    assert event["eventType"] == "ConfirmedComplete"
