"""`instance-gateway purge`: which hard-deleted instances go (altinn-storage.md: "unarchived
ones at its next run; archived ones once hard-deleted for 7 days and confirmed complete by the
org for 7 days"), with their events, and which stay; run as a user runs it, against a fresh
database on the wire-protocol server. The rule itself is also checked on its own."""

import io
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import mongomock
import pytest
from pymongo import MongoClient

from app.progress import Progress
from app.store.changes import PENDING_EVENTS
from app.store.documents import normalize_instance
from app.store.filters import compile_instance_filter
from app.store.purge import RETENTION, Purge, purgeable
from tests.conftest import TEST_SECRET
from tests.factories import make_instance

NOW = datetime.now(UTC)


def days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def hard_deleted(days: float, *, archived: bool, confirmed: dict[str, float] | None = None, org: str = "ttd") -> dict:
    """An instance hard-deleted `days` ago; `confirmed` maps a stakeholder to how many days ago it confirmed."""
    status = {
        "isSoftDeleted": True,
        "softDeleted": days_ago(days),
        "isHardDeleted": True,
        "hardDeleted": days_ago(days),
    }
    if archived:
        status |= {"isArchived": True, "archived": days_ago(40)}
    confirmations = [{"stakeholderId": s, "confirmedOn": days_ago(d)} for s, d in (confirmed or {}).items()]
    return make_instance(app_id=f"{org}/skjema-a", status=status, completeConfirmations=confirmations)


GOES = {
    "unarchived, hard-deleted a moment ago": hard_deleted(0.001, archived=False),
    "unarchived, hard-deleted long ago, confirmed by nobody": hard_deleted(30, archived=False),
    "archived, hard-deleted 8 days ago, confirmed by its org 8 days ago": hard_deleted(
        8, archived=True, confirmed={"ttd": 8}
    ),
    "another org's, confirmed by that org": hard_deleted(8, archived=True, confirmed={"skd": 9}, org="skd"),
}
STAYS = {
    "archived, hard-deleted 6 days ago, confirmed long ago": hard_deleted(6, archived=True, confirmed={"ttd": 30}),
    "archived, hard-deleted 8 days ago, not confirmed": hard_deleted(8, archived=True),
    "archived, hard-deleted 8 days ago, confirmed 6 days ago": hard_deleted(8, archived=True, confirmed={"ttd": 6}),
    "archived, hard-deleted 8 days ago, confirmed by another org only": hard_deleted(
        8, archived=True, confirmed={"skd": 30}
    ),
    "soft-deleted only": make_instance(status={"isSoftDeleted": True, "softDeleted": days_ago(30)}),
    "archived, soft-deleted only, confirmed": make_instance(
        status={"isArchived": True, "isSoftDeleted": True, "softDeleted": days_ago(30)},
        completeConfirmations=[{"stakeholderId": "ttd", "confirmedOn": days_ago(30)}],
    ),
    "active": make_instance(),
}


def event(instance: dict[str, Any], number: int) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "instanceId": instance["id"], "created": NOW, "eventType": f"Event{number}"}


def stored(documents: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [normalize_instance(d) for d in documents.values()]


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "document", "goes"),
    [pytest.param(n, d, True, id=f"goes: {n}") for n, d in GOES.items()]
    + [pytest.param(n, d, False, id=f"stays: {n}") for n, d in STAYS.items()],
)
def test_the_retention_rule(name, document, goes):
    collection = mongomock.MongoClient(tz_aware=True).db.instances
    collection.insert_one(normalize_instance(document))
    org = document["org"]
    assert (collection.find_one(compile_instance_filter(purgeable(org, NOW))) is not None) is goes, name


@pytest.mark.parametrize(
    ("age", "goes"),
    [(RETENTION, True), (RETENTION - timedelta(milliseconds=1), False)],
    ids=["7-days-goes", "a-millisecond-less-stays"],
)
def test_seven_days_are_seven_days_to_the_millisecond(age, goes):
    moment = (NOW - age).isoformat()
    document = make_instance(
        status={"isArchived": True, "isSoftDeleted": True, "isHardDeleted": True, "hardDeleted": moment},
        completeConfirmations=[{"stakeholderId": "ttd", "confirmedOn": moment}],
    )
    collection = mongomock.MongoClient(tz_aware=True).db.instances
    collection.insert_one(normalize_instance(document))
    assert (collection.find_one(compile_instance_filter(purgeable("ttd", NOW))) is not None) is goes


# --- one instance's removal ----------------------------------------------------------------


async def test_a_removal_interrupted_after_the_events_is_finished_by_the_next_run(database):
    instance = normalize_instance(GOES["unarchived, hard-deleted a moment ago"])
    await database.instances.insert_one(dict(instance))
    await database.instance_events.insert_many([event(instance, n) for n in range(3)])
    delete_instance = database.instances.delete_one

    def crash(*args, **kwargs):
        raise RuntimeError("the process died")

    database.instances.delete_one = crash
    with pytest.raises(RuntimeError):
        await Purge(database, NOW).remove(instance["id"])
    # the events went first: nothing of the instance is left that the next run would not find
    assert await database.instance_events.count_documents({}) == 0
    assert await database.instances.count_documents({}) == 1

    database.instances.delete_one = delete_instance
    purge = Purge(database, NOW)
    assert [i async for batch in purge.batches() for i in batch] == [instance["id"]]
    assert await purge.remove(instance["id"]) == 0
    assert await database.instances.count_documents({}) == 0


async def test_an_instance_with_a_change_being_recorded_stays_for_the_next_run(database):
    instance = normalize_instance(GOES["unarchived, hard-deleted a moment ago"])
    pending = event(instance, 1)
    await database.instances.insert_one({**instance, PENDING_EVENTS: [pending]})
    assert await Purge(database, NOW).remove(instance["id"]) is None
    assert await database.instances.count_documents({}) == 1


async def test_purge_pages_through_more_instances_than_a_batch(database, monkeypatch):
    monkeypatch.setattr("app.store.purge.BATCH_SIZE", 3)
    instances = [normalize_instance(hard_deleted(1, archived=False)) for _ in range(8)]
    await database.instances.insert_many([dict(i) for i in instances])
    purge = Purge(database, NOW)
    assert await purge.count() == 8
    batches = [batch async for batch in purge.batches()]
    assert [len(b) for b in batches] == [3, 3, 2]
    assert [i for b in batches for i in b] == sorted(i["id"] for i in instances)


# --- the command ---------------------------------------------------------------------------


class Target:
    def __init__(self, url: str, database: str) -> None:
        self.url, self.database = url, database

    def purge(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": "/tmp",
            "GATEWAY_MONGODB_URL": self.url,
            "GATEWAY_MONGODB_DATABASE": self.database,
            "GATEWAY_JWT_SECRET": TEST_SECRET,
        }
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "purge", *args], capture_output=True, text=True, env=env, timeout=60
        )

    def ids(self, collection: str, field: str = "id") -> set[str]:
        with MongoClient(self.url, serverSelectionTimeoutMS=5000) as client:
            return {d[field] for d in client[self.database][collection].find({}, {"_id": 0, field: 1})}


@pytest.fixture
def target(wire_server_url: str) -> Iterator[Target]:
    target = Target(wire_server_url, f"gateway_test_{uuid.uuid4().hex[:12]}")
    instances = stored(GOES) + stored(STAYS)
    with MongoClient(wire_server_url, serverSelectionTimeoutMS=5000, tz_aware=True) as client:
        client[target.database].instances.insert_many([dict(i) for i in instances])
        client[target.database].instanceEvents.insert_many([event(i, n) for i in instances for n in range(2)])
    yield target
    with MongoClient(wire_server_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(target.database)


GOING_IDS = {d["id"] for d in GOES.values()}
STAYING_IDS = {d["id"] for d in STAYS.values()}


@pytest.mark.wire
def test_purge_removes_exactly_what_the_rule_lets_go_with_its_events(target):
    result = target.purge()

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == GOING_IDS
    database = target.database
    assert (
        f"purged {len(GOES)} instances from {database}.instances and their {2 * len(GOES)} events "
        f"from {database}.instanceEvents"
    ) in result.stderr
    assert target.ids("instances") == STAYING_IDS
    assert target.ids("instanceEvents", "instanceId") == STAYING_IDS

    again = target.purge()
    assert again.returncode == 0, again.stderr
    assert (again.stdout, target.ids("instances")) == ("", STAYING_IDS)
    assert "purged 0 instances" in again.stderr


@pytest.mark.wire
def test_a_dry_run_lists_what_would_go_and_changes_nothing(target):
    result = target.purge("--dry-run")

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == GOING_IDS
    assert f"dry run: {len(GOES)} instances would be purged" in result.stderr
    assert target.ids("instances") == GOING_IDS | STAYING_IDS
    assert target.ids("instanceEvents", "instanceId") == GOING_IDS | STAYING_IDS


@pytest.mark.wire
def test_the_progress_is_plain_lines_when_not_on_a_terminal(target):
    result = target.purge()
    progress = [line for line in result.stderr.splitlines() if line.startswith("purging:")]
    assert progress[0] == f"purging: 0/{len(GOES)} (0%)"
    assert progress[-1] == f"purging: {len(GOES)}/{len(GOES)} (100%)"
    assert "\r" not in result.stderr and "\033" not in result.stderr


def test_purge_on_an_unreachable_database_says_so():
    # Slow by design: the driver waits out its server selection timeout (5 s) before giving up.
    result = Target("mongodb://127.0.0.1:9", "instances").purge("--dry-run")
    assert result.returncode == 3
    assert "error: the database at mongodb://127.0.0.1:9 is unreachable: 127.0.0.1:9: " in result.stderr
    assert "Traceback" not in result.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_in_place_on_a_terminal(capsys):
    terminal = Terminal()
    progress = Progress("purging", 4, stream=terminal)
    progress.advance()
    progress.print("1337/some-id")
    progress.advance(3)
    progress.close()
    assert capsys.readouterr().out == "1337/some-id\n"
    drawn = terminal.getvalue()
    assert drawn.count("\n") == 1  # only the last, after the bar
    assert "\r\033[K" in drawn  # the bar is cleared before a line is printed, then drawn again
    assert drawn.endswith(f"\rpurging [{'#' * 30}] 4/4\n")
