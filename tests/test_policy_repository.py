"""Loading app policies and metadata from folders: layouts, errors, the demo and Altinn's own apps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.authorization.policy import (
    PolicyError,
    ResourceState,
    Subject,
    is_permitted,
    permitted_states,
)
from app.authorization.policy_repository import AppMetadata, PolicyRepository, parse_app_metadata

FIXTURES = Path(__file__).parent / "fixtures"
MIXED_LAYOUTS = FIXTURES / "policies" / "repository"
ALTINN_APPS = FIXTURES / "altinn-apps"  # Altinn/altinn-storage test/UnitTest/data/apps, as-is


def user(*roles: str, level: int = 2) -> Subject:
    return Subject(org=None, role_codes=frozenset(roles), auth_level=level)


def service_owner(org: str, level: int = 3) -> Subject:
    return Subject(org=org, role_codes=frozenset(), auth_level=level)


def in_task(app_id: str, task: str) -> ResourceState:
    org, app = app_id.split("/")
    return ResourceState(org=org, app=app, task=task, end_event=None)


def ended(app_id: str, end_event: str) -> ResourceState:
    org, app = app_id.split("/")
    return ResourceState(org=org, app=app, task=None, end_event=end_event)


@pytest.fixture(scope="module")
def mixed() -> PolicyRepository:
    return PolicyRepository.load(MIXED_LAYOUTS)


@pytest.mark.parametrize("app_id", ["ttd/flat-app", "ttd/repo-app", "digdir/other-org-app"])
def test_both_layouts_load(mixed, app_id):
    policy = mixed.policy(app_id)
    assert policy is not None
    assert is_permitted(policy, user("DAGL"), in_task(app_id, "Task_1"), "read")
    assert not is_permitted(policy, user("DAGL"), in_task(app_id, "Task_1"), "write")


def test_app_ids_include_broken_apps_but_not_other_folders(mixed):
    assert mixed.app_ids == (
        "digdir/other-org-app",
        "ttd/bad-days",
        "ttd/broken-metadata",
        "ttd/broken-policy",
        "ttd/flat-app",
        "ttd/metadata-only",
        "ttd/no-metadata",
        "ttd/repo-app",
    )


@pytest.mark.parametrize(
    ("app_id", "days"),
    [
        ("ttd/flat-app", 30),  # BOM, unknown keys
        ("ttd/repo-app", None),  # explicit null
        ("ttd/no-metadata", None),  # no file at all
        ("ttd/metadata-only", 7),
        ("ttd/unknown-app", None),
    ],
)
def test_metadata(mixed, app_id, days):
    assert mixed.metadata(app_id) == AppMetadata(prevent_instance_deletion_for_days=days)


def test_app_without_policy_or_unknown_app_has_no_policy(mixed):
    assert mixed.policy("ttd/metadata-only") is None
    assert mixed.policy("ttd/unknown-app") is None


def test_org_part_of_app_id_is_case_insensitive(mixed):
    assert mixed.policy("TTD/flat-app") is mixed.policy("ttd/flat-app")


@pytest.mark.parametrize(
    ("app_id", "message"),
    [
        ("ttd/broken-policy", "ttd/broken-policy/policy.xml: not a safe, well-formed XML"),
        ("ttd/broken-metadata", "ttd/broken-metadata/applicationmetadata.json: not valid"),
        ("ttd/bad-days", "preventInstanceDeletionForDays must be a whole number of days, not '30'"),
    ],
)
def test_broken_app_is_reported_and_never_decides(mixed, app_id, message):
    assert message in mixed.errors[app_id]
    with pytest.raises(PolicyError, match="ttd/"):
        mixed.policy(app_id)
    with pytest.raises(PolicyError):
        mixed.metadata(app_id)


def test_only_broken_apps_have_errors(mixed):
    assert set(mixed.errors) == {"ttd/broken-policy", "ttd/broken-metadata", "ttd/bad-days"}


def test_policy_in_both_layouts_is_an_error(tmp_path):
    app = tmp_path / "ttd" / "twice"
    (app / "config" / "authorization").mkdir(parents=True)
    for target in (app / "policy.xml", app / "config" / "authorization" / "policy.xml"):
        shutil.copy(MIXED_LAYOUTS / "ttd" / "flat-app" / "policy.xml", target)
    repository = PolicyRepository.load(tmp_path)
    assert "also found at ttd/twice/config/authorization/policy.xml" in repository.errors["ttd/twice"]


def test_org_folders_differing_in_case_are_an_error(tmp_path):
    for org in ("ttd", "TTD"):
        (tmp_path / org / "app").mkdir(parents=True)
        shutil.copy(MIXED_LAYOUTS / "ttd" / "flat-app" / "policy.xml", tmp_path / org / "app")
    if len(list(tmp_path.iterdir())) == 1:
        pytest.skip("case-insensitive file system")
    assert "more than one folder" in PolicyRepository.load(tmp_path).errors["ttd/app"]


@pytest.mark.parametrize("make_path", [lambda tmp: tmp / "missing", lambda tmp: tmp / "file.txt"])
def test_missing_folder_raises(tmp_path, make_path):
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(PolicyError, match="does not exist or is not a folder"):
        PolicyRepository.load(make_path(tmp_path))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[]", "expected a JSON object"),
        (b'{"preventInstanceDeletionForDays": true}', "not True"),
        (b'{"preventInstanceDeletionForDays": -1}', "not -1"),
        (b'{"preventInstanceDeletionForDays": 1.5}', "not 1.5"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
    ],
    ids=["array", "boolean", "negative", "fraction", "utf-16"],
)
def test_malformed_metadata(raw, message):
    with pytest.raises(PolicyError, match=r"^meta\.json: ") as raised:
        parse_app_metadata(raw, source="meta.json")
    assert message in str(raised.value)


# --- the demo apps shipped with the gateway ----------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> PolicyRepository:
    return PolicyRepository.demo()


def test_demo_loads_cleanly(demo):
    assert demo.app_ids == ("ttd/melding", "ttd/skjema-a", "ttd/skjema-b")
    assert demo.errors == {}
    assert demo.metadata("ttd/skjema-b").prevent_instance_deletion_for_days == 30
    assert demo.metadata("ttd/skjema-a").prevent_instance_deletion_for_days is None


DEMO_DECISIONS = [
    ("owner deletes skjema-a", "ttd/skjema-a", service_owner("ttd"), "Task_1", "delete", True),
    ("owner cannot delete skjema-b", "ttd/skjema-b", service_owner("ttd"), "Task_1", "delete", False),
    ("owner completes skjema-b", "ttd/skjema-b", service_owner("ttd"), "Task_1", "complete", True),
    ("other org reads nothing", "ttd/skjema-a", service_owner("digdir"), "Task_1", "read", False),
    ("PRIV deletes skjema-b", "ttd/skjema-b", user("PRIV", level=3), "Task_1", "delete", True),
    ("REGNA writes skjema-a", "ttd/skjema-a", user("REGNA", level=3), "Task_1", "write", True),
    ("users do not complete", "ttd/skjema-a", user("DAGL", level=3), "Task_1", "complete", False),
    ("template needs level 3", "ttd/skjema-a", user("DAGL", level=2), "Task_1", "read", False),
    ("melding read in Task_1", "ttd/melding", user("PRIV", level=2), "Task_1", "read", True),
    ("melding not in Task_2", "ttd/melding", user("PRIV", level=2), "Task_2", "read", False),
    ("melding not REGNA", "ttd/melding", user("REGNA", level=4), "Task_1", "read", False),
    ("melding needs level 2", "ttd/melding", user("DAGL", level=1), "Task_1", "read", False),
]


@pytest.mark.parametrize(
    ("app_id", "subject", "task", "action", "expected"),
    [case[1:] for case in DEMO_DECISIONS],
    ids=[case[0] for case in DEMO_DECISIONS],
)
def test_demo_decisions(demo, app_id, subject, task, action, expected):
    assert is_permitted(demo.policy(app_id), subject, in_task(app_id, task), action) is expected


def test_demo_melding_read_states(demo):
    states = permitted_states(demo.policy("ttd/melding"), user("DAGL"), "ttd", "melding", "read")
    assert (states.any_state, states.tasks, states.end_events) == (
        False,
        frozenset({"Task_1"}),
        frozenset({"EndEvent_1"}),
    )


# --- Altinn's own test apps -------------------------------------------------------------------

# Role lists from Altinn's roles test data, roles/user_{user}/party_{party}/roles.json.
USER_1_PARTY_1000 = ("regna", "dagl")
USER_1337_PARTY_1337 = ("PRIV", "UTINN", "LOPER", "ADMAI", "PRIUT", "REGNA", "SISKD", "A0236")
USER_1337_PARTY_500700 = ("MEDL", "REGNA", "UTINN", "UTOMR")
USER_10016_PARTY_500004 = ("SIGNE",)
USER_5_PARTY_500004 = ("A0236",)
USER_3_PARTY_1600 = ("test",)


@pytest.fixture(scope="module")
def altinn() -> PolicyRepository:
    return PolicyRepository.load(ALTINN_APPS)


def test_all_altinn_apps_load(altinn):
    assert len(altinn.app_ids) == 17
    assert altinn.errors == {}
    assert all(altinn.policy(app_id) is not None for app_id in altinn.app_ids)
    # Its metadata says "test/sailor"; the folder (and the policy) say "tests".
    assert "tests/sailor" in altinn.app_ids
    assert {altinn.metadata(a).prevent_instance_deletion_for_days for a in altinn.app_ids} == {None}


DAGL, REGNA = user("DAGL"), user("REGNA")
ALTINN_DECISIONS = [
    # sfvt/test-read-app lets digdir, not the owner sfvt, read.
    ("sfvt/test-read-app", service_owner("digdir"), in_task, "Task_1", "read", True),
    ("sfvt/test-read-app", service_owner("DIGDIR"), in_task, "Task_1", "read", True),
    ("sfvt/test-read-app", service_owner("sfvt"), in_task, "Task_1", "read", False),
    ("sfvt/test-read-app", service_owner("digdir"), in_task, "Task_1", "write", False),
    ("sfvt/test-read-app-no-permission", service_owner("sfvt"), ended, "EndEvent_1", "read", True),
    ("sfvt/test-read-app-no-permission", service_owner("digdir"), in_task, "Task_1", "read", False),
    ("spf/test-applikasjon-3", user(*USER_1_PARTY_1000), in_task, "Task_1", "write", True),
    ("spf/test-applikasjon-3", user(*USER_1_PARTY_1000), in_task, "Task_2", "write", False),
    ("spf/test-applikasjon-3", user(*USER_1_PARTY_1000), ended, "EndEvent_1", "read", True),
    ("spf/test-applikasjon-3", user(*USER_1_PARTY_1000, level=1), in_task, "Task_1", "read", False),
    ("spf/test-applikasjon-3", service_owner("spf"), ended, "EndEvent_1", "write", True),
    ("spf/test-applikasjon-3", service_owner("spf"), in_task, "Task_1", "delete", False),
    ("tdd/endring-av-navn", DAGL, in_task, "Task_1", "delete", True),
    ("tdd/endring-av-navn", DAGL, in_task, "Task_2", "delete", False),
    ("tdd/endring-av-navn", DAGL, ended, "EndEvent_1", "delete", True),
    ("tdd/endring-av-navn", DAGL, in_task, "Task_2", "sign", True),
    ("tdd/endring-av-navn", DAGL, in_task, "Task_1", "sign", False),
    ("tdd/endring-av-navn", DAGL, in_task, "Task_4", "custom-task-type", True),
    ("tdd/endring-av-navn", service_owner("tdd"), in_task, "Task_3", "delete", True),
    ("tdd/endring-av-navn", service_owner("tdd"), in_task, "Task_2", "sign", False),
    ("tdd/m1000", REGNA, in_task, "Data_1", "write", True),
    ("tdd/m1000", REGNA, in_task, "Task_1", "write", False),
    ("tdd/m1000", REGNA, ended, "EndEvent_1", "write", True),
    ("tdd/read-write-unlock", user(*USER_1337_PARTY_500700), in_task, "Task_1", "write", False),
    ("tdd/read-write-unlock", user(*USER_1337_PARTY_500700), in_task, "Task_1", "unlock", True),
    ("tdd/read-write-unlock", DAGL, in_task, "Task_1", "unlock", False),
    ("tdd/read-write-unlock", user(*USER_10016_PARTY_500004), in_task, "Task_1", "write", True),
    ("tdd/read-write-unlock", user(*USER_10016_PARTY_500004), in_task, "Task_1", "instantiate", False),
    ("tdd/read-write-unlock", user(*USER_5_PARTY_500004), in_task, "Task_1", "reject", True),
    ("tdd/read-write-unlock", user(*USER_5_PARTY_500004), ended, "EndEvent_1", "reject", False),
    # The delete rule puts the action Match inside the resource AllOf.
    ("tdd/test-applikasjon-1", DAGL, in_task, "Task_1", "delete", True),
    ("tdd/test-applikasjon-1", DAGL, ended, "EndEvent_1", "delete", True),
    ("tdd/test-applikasjon-1", REGNA, in_task, "Task_1", "delete", False),
    ("tdd/test-applikasjon-2", REGNA, in_task, "Task_1", "write", True),
    ("tdd/test-applikasjon-2", service_owner("tdd"), in_task, "Task_1", "delete", False),
    ("tests/sailor", service_owner("tests"), in_task, "Task_1", "read", True),
    ("tests/sailor", service_owner("test"), in_task, "Task_1", "read", False),
    ("ttd/autodelete-data-app", DAGL, ended, "EndEvent_1", "delete", True),
    ("ttd/autodelete-data-app", DAGL, ended, "EndEvent_1", "write", False),
    ("ttd/autodelete-data-app", service_owner("ttd"), in_task, "Task_1", "delete", True),
    ("ttd/complete-test", service_owner("ttd"), ended, "Success", "complete", True),
    ("ttd/complete-test", service_owner("ttd"), in_task, "Task_1", "complete", False),
    ("ttd/complete-test", DAGL, ended, "Success", "complete", False),
    ("ttd/dato-eksempel", DAGL, ended, "EndEvent_1", "write", True),
    ("ttd/dato-eksempel", DAGL, ended, "EndEvent_2", "write", False),
    ("ttd/endring-av-navn-v2", user(*USER_1337_PARTY_1337), in_task, "Task_1", "delete", True),
    ("ttd/endring-av-navn-v2", DAGL, in_task, "Task_1", "delete", False),
    ("ttd/endring-av-navn-v3", user("REVI"), in_task, "Task_2", "confirm", True),
    ("ttd/endring-av-navn-v3", user("REVI"), in_task, "Task_1", "confirm", False),
    # sensitive-data writes roles in lower case and matches actions ignoring case.
    ("ttd/sensitive-data", user(*USER_1337_PARTY_1337), in_task, "Task_1", "delete", True),
    ("ttd/sensitive-data", user(*USER_1337_PARTY_1337), in_task, "Task_1", "complete", False),
    ("ttd/sensitive-data", user("PRIV", level=1), in_task, "Task_1", "read", False),
    ("ttd/sensitive-data", service_owner("ttd"), in_task, "Task_1", "SENSITIVEDATAREAD", True),
    ("ttd/sensitive-data", service_owner("ttd"), in_task, "Task_1", "delete", False),
    # Its org minimum (3) only ever relaxes the user minimum (2) in Altinn's PEP.
    ("ttd/sensitive-data", service_owner("ttd", level=2), in_task, "Task_1", "read", True),
    ("ttd/sensitive-data", service_owner("ttd", level=1), in_task, "Task_1", "read", False),
    ("ttd/signing-app", DAGL, in_task, "Task_1", "sign", True),
    ("ttd/signing-app", service_owner("ttd"), in_task, "Task_1", "sign", False),
    # Rule 4 grants the (mistyped) action "signing-app" at end event Success.
    ("ttd/signing-app", service_owner("ttd"), ended, "Success", "signing-app", True),
    ("ttd/steffens-2020-v2", user(*USER_3_PARTY_1600), in_task, "Task_1", "read", True),
    ("ttd/steffens-2020-v2", user(*USER_3_PARTY_1600), in_task, "Task_1", "instantiate", False),
]


@pytest.mark.parametrize(
    ("app_id", "subject", "state", "where", "action", "expected"),
    ALTINN_DECISIONS,
    ids=[f"{c[0]}-{c[1].org or '+'.join(sorted(c[1].role_codes))}-{c[3]}-{c[4]}" for c in ALTINN_DECISIONS],
)
def test_altinn_app_decisions(altinn, app_id, subject, state, where, action, expected):
    assert is_permitted(altinn.policy(app_id), subject, state(app_id, where), action) is expected


SUBJECTS = [DAGL, REGNA, user("PRIV"), user(*USER_1337_PARTY_1337), service_owner("ttd"), service_owner("tdd")]
ACTIONS = ["read", "write", "delete", "complete", "sign", "instantiate", "confirm", "unlock"]
STATES = [(None, None), ("Task_1", None), ("Task_2", None), ("Data_1", None)] + [
    (None, end) for end in ("EndEvent_1", "Success", "EndEvent_2")
]


def test_altinn_apps_permitted_states_agree_with_is_permitted(altinn):
    for app_id in altinn.app_ids:
        org, app = app_id.split("/")
        policy = altinn.policy(app_id)
        for subject in SUBJECTS:
            for action in ACTIONS:
                states = permitted_states(policy, subject, org, app, action)
                for task, end_event in STATES:
                    decided = is_permitted(policy, subject, ResourceState(org, app, task, end_event), action)
                    assert states.allows(task, end_event) == decided, (app_id, subject, action, task)
