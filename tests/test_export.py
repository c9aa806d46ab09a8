"""`instance-gateway export`: what it writes, `import` reads back to the very same documents, BSON
types, odd old values and the gateway's own fields included, with their audit events if asked;
a filter in the GraphQL API's form chooses the instances; a bad one is a clear error; an
interrupted export leaves no file; memory stays small however many instances there are."""

import asyncio
import json
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import bson
import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from app import exporter
from app.cli import main
from app.errors import ServiceUnavailable
from app.exporter import export, replacing
from app.importer import read_instances
from app.store.database import Database, connect, ensure_indexes
from app.store.documents import normalize_instance
from app.store.export import Export
from app.store.writes import write_all
from tests.cli_runs import run_cli
from tests.conftest import Store, open_store
from tests.factories import make_data_element, make_instance
from tests.messy_documents import messy_events, messy_instances


def every_type() -> dict[str, Any]:
    """An instance that holds every BSON type, and values that plain JSON would change."""
    guid = str(uuid.uuid4())
    return {
        "id": f"1337/{guid}",
        "instanceOwner": {"partyId": "1337"},
        "appId": "ttd/every-type",
        "org": "ttd",
        "created": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "lastChanged": "2024-01-02T03:04:05Z",  # a string that looks like a date stays one
        "dueBefore": "not a date",
        "visibleAfter": datetime(999, 1, 2, tzinfo=UTC),
        "process": {"started": datetime(1960, 5, 6, tzinfo=UTC), "currentTask": None},
        "status": {"readStatus": "read", "isSoftDeleted": 1},
        "int32": 7,
        "int64": Int64(7),
        "bigInt64": 2**40,
        "double": 2.0,
        "negativeZero": -0.0,
        "notANumber": float("nan"),
        "infinity": float("-inf"),
        "decimal": Decimal128("1.10"),
        "objectId": ObjectId(),
        "binary": Binary(b"\x00\xff", 0),
        "uuid": Binary(uuid.UUID(guid).bytes, 4),
        "regex": Regex("^a.b", "i"),
        "timestamp": Timestamp(1_700_000_000, 3),
        "minKey": MinKey(),
        "maxKey": MaxKey(),
        "code": Code("function () {}"),
        "text": 'Ünïcødé ✓ \u2028 "quoted" \n line',
        "dollarText": "$date",
        "nested": {"list": [Int64(1), [2.5, None, True], {"deep": {"deeper": Int64(-1)}}], "empty": {}},
        "_pendingEvents": [
            {"id": str(uuid.uuid4()), "eventType": "Saved", "created": datetime(2024, 1, 3, tzinfo=UTC)}
        ],
    }


def messy(seed: int, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    instances = messy_instances(seed, count, party_ids=["1337", "500"], app_ids=["ttd/a", "ttd/b", "skd/c"])
    return instances, messy_events(seed, instances)


async def seed(database: Database, instances: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """Stored as they are, as real storage holds them: no normalization."""
    await database.instances.insert_many([dict(d) for d in instances])
    if events:
        await database.instance_events.insert_many([dict(e) for e in events])


async def stored(database: Database) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every instance and event by id, as BSON (types, values and field order), `_id` aside."""
    instances = await database.instances.find({}, {"_id": 0}).to_list(None)
    events = await database.instance_events.find({}, {"_id": 0}).to_list(None)
    return {d["id"]: bson.encode(d) for d in instances}, {e["id"]: bson.encode(e) for e in events}


async def exported(database: Database, path: Path, **options: Any) -> Path:
    with replacing(path) as out:
        await export(database, out, **{"instance_filter": None, "with_events": True, "show_progress": False} | options)
    return path


async def test_what_is_exported_imports_back_to_the_same_documents_and_events(store: Store, tmp_path: Path) -> None:
    instances, events = messy(19, 60)
    instances.append(every_type())
    source, target = connect(store.url, store.new_database()), connect(store.url, store.new_database())
    try:
        await seed(source, instances, events)
        path = await exported(source, tmp_path / "export.ndjson")
        batch = read_instances([path])
        assert batch.errors == [] and batch.warnings == []
        await ensure_indexes(target)
        await write_all(target, batch.documents, [], batch.events)
        assert await stored(target) == await stored(source)
        assert len((await stored(target))[0]) == len(instances) and len((await stored(target))[1]) == len(events)
    finally:
        await source.close()
        await target.close()


async def test_events_are_those_of_the_exported_instances_only(database: Database, tmp_path: Path) -> None:
    kept, left = make_instance(app_id="ttd/a"), make_instance(app_id="ttd/b")
    events = [{"id": str(uuid.uuid4()), "instanceId": i["id"], "eventType": "Created"} for i in (kept, left)]
    await seed(database, [kept, left], events)

    path = await exported(database, tmp_path / "a.ndjson", instance_filter={"appId": {"eq": "ttd/a"}})

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(kind, d["id"]) for line in lines for kind, d in line.items()] == [
        ("instance", kept["id"]),
        ("event", events[0]["id"]),
    ]


def test_an_interrupted_write_leaves_no_file_and_an_earlier_one_as_it_was(tmp_path: Path) -> None:
    earlier = tmp_path / "export.ndjson"
    earlier.write_text("the export of yesterday\n")
    with pytest.raises(KeyboardInterrupt), replacing(earlier) as out:
        out.write(b'{"instance": {"id": "1/a"}}\n')
        raise KeyboardInterrupt
    assert earlier.read_text() == "the export of yesterday\n"
    assert os.listdir(tmp_path) == ["export.ndjson"]


def test_a_line_of_an_export_that_is_no_extended_json_value_is_an_error_of_its_line(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    good = make_instance()
    path.write_text(
        json.dumps({"instance": good})
        + '\n{"instance": {"id": "1/b", "created": {"$date": "yesterday"}}}\n{"instance": {"appId": "x"}}\n'
    )
    batch = read_instances([path])
    assert [d["id"] for d in batch.documents] == [good["id"]]
    assert batch.errors[0].startswith(f"{path}:2: an Extended JSON $date that holds no value of its type")
    assert batch.errors[1] == f"{path}:3: an exported instance must be an object with its id"


# The command, as a user runs it.


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from open_store(request, "wire")


async def seeded(store: Store, instances: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    """A new database on the store holding these, as they are; its name."""
    name = store.new_database()
    database = connect(store.url, name)
    try:
        await seed(database, instances, events)
    finally:
        await database.close()
    return name


async def stored_in(store: Store, name: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    database = connect(store.url, name)
    try:
        return await stored(database)
    finally:
        await database.close()


@pytest.mark.wire
async def test_export_then_import_into_another_database_gives_back_every_document(wire: Store, tmp_path: Path) -> None:
    instances, events = messy(7, 200)
    instances.append(every_type())
    source, target = await seeded(wire, instances, events), wire.new_database()
    path = tmp_path / "backup.ndjson"

    exporting = run_cli("export", "--events", "--output", path, url=wire.url, database=source)
    importing = run_cli("import", path, url=wire.url, database=target)

    assert exporting.returncode == 0, exporting.stderr
    assert exporting.stdout == ""
    assert f"exporting: 0/{len(instances)} (0%)" in exporting.stderr  # progress, as purge shows it
    summary = f"exported {len(instances)} instances and {len(events)} of their audit events from {source} to {path}"
    assert exporting.stderr.endswith(summary + "\n")
    assert importing.returncode == 0, importing.stderr
    assert f"imported {len(events)} audit events into {target}.instanceEvents: {len(events)} inserted" in (
        importing.stdout
    )
    assert await stored_in(wire, target) == await stored_in(wire, source)


@pytest.mark.wire
async def test_a_filter_in_the_graphql_form_chooses_the_instances_hard_deleted_ones_included(wire: Store) -> None:
    hard_deleted = {"isSoftDeleted": True, "isHardDeleted": True}
    chosen = [
        make_instance(app_id="ttd/a", status={"isSoftDeleted": True}),
        make_instance(app_id="ttd/a", status=hard_deleted),
    ]
    others = [make_instance(app_id="ttd/a"), make_instance(app_id="ttd/b", status=hard_deleted)]
    source = await seeded(wire, [normalize_instance(d) for d in chosen + others], [])
    a_filter = '{"appId": {"eq": "ttd/a"}, "status": {"isSoftDeleted": true}}'

    chosen_only = run_cli("export", "--filter", a_filter, url=wire.url, database=source)
    everything = run_cli("export", url=wire.url, database=source)

    assert chosen_only.returncode == 0, chosen_only.stderr
    # On standard output, and no progress on standard error but on a terminal.
    assert chosen_only.stderr == f"exported 2 instances from {source} to standard output\n"
    lines = [json.loads(line) for line in chosen_only.stdout.splitlines()]
    assert sorted(line["instance"]["id"] for line in lines) == sorted(d["id"] for d in chosen)
    assert len(everything.stdout.splitlines()) == 4


@pytest.mark.parametrize(
    ("given", "told"),
    [
        ('{"appId": {"eq": "ttd/a"}', "error: --filter is not JSON: Expecting ',' delimiter"),
        ('{"appID": {"eq": "ttd/a"}}', "error: --filter: Variable '$filter' has invalid value: Expected value of "),
        ('{"status": {"isSoftDeleted": "yes"}}', "at .status.isSoftDeleted: Boolean cannot represent"),
        ('{"created": {"gte": "yesterday"}}', "at .created.gte: Expected value of type 'DateTime'"),
        ('{"status": {"readStatus": ["Read"]}}', "Value 'Read' does not exist in 'ReadStatus' enum"),
        ('{"appId": {"startsWith": "' + "x" * 300 + '"}}', "`appId.startsWith` takes text of at most 256"),
        ("[]", "Expected value of type 'InstanceFilter' to be an object"),
    ],
)
def test_a_bad_filter_is_refused_as_the_graphql_api_refuses_it(
    given: str, told: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before any database is asked: this one would not answer.
    monkeypatch.setenv("GATEWAY_MONGODB_URL", "mongodb://127.0.0.1:9")
    status = main(["export", "--filter", given, "--output", str(tmp_path / "out.ndjson")])
    error = capsys.readouterr().err
    assert status == 2
    assert told in error and error.startswith("error: --filter") and "Traceback" not in error
    assert os.listdir(tmp_path) == []


def test_export_needs_mongodb(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GATEWAY_MONGODB_URL", raising=False)
    assert main(["export"]) == 2
    assert "error: export reads from MongoDB: set GATEWAY_MONGODB_URL" in capsys.readouterr().err


@pytest.mark.wire
@pytest.mark.parametrize(
    ("failure", "status", "told"),
    [
        (KeyboardInterrupt(), 130, "interrupted; {path} is as it was"),
        (ServiceUnavailable("the database is unreachable"), 3, "the database is unreachable; {path} is as it was"),
    ],
)
async def test_an_export_that_fails_half_way_leaves_no_file(
    failure: BaseException,
    status: int,
    told: str,
    wire: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = await seeded(wire, [normalize_instance(make_instance()) for _ in range(3)], [])
    monkeypatch.setenv("GATEWAY_MONGODB_URL", wire.url)
    monkeypatch.setenv("GATEWAY_MONGODB_DATABASE", source)
    lines = []

    def fails_at_the_third(kind: str, document: dict[str, Any]) -> bytes:
        if len(lines) == 2:
            raise failure
        lines.append(line(kind, document))
        return lines[-1]

    line = exporter._line
    monkeypatch.setattr(exporter, "_line", fails_at_the_third)
    path = tmp_path / "out.ndjson"

    assert await asyncio.to_thread(main, ["export", "--output", str(path)]) == status
    assert told.format(path=path) in capsys.readouterr().err
    assert len(lines) == 2 and os.listdir(tmp_path) == []


async def test_an_export_holds_one_batch_in_memory_however_many_instances_there_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count, batch = 2_000, 101
    template = normalize_instance(make_instance(data=[make_data_element() for _ in range(3)]))

    async def instances(_export: Export) -> AsyncIterator[Iterable[dict[str, Any]]]:
        for start in range(0, count, batch):
            yield (template | {"id": f"1337/{n}"} for n in range(start, min(start + batch, count)))

    async def total(_export: Export) -> int:
        return count

    monkeypatch.setattr(Export, "instances", instances)
    monkeypatch.setattr(Export, "count", total)
    sink = SimpleNamespace(size=0, write=lambda line: setattr(sink, "size", sink.size + len(line)))

    tracemalloc.start()
    try:
        await export(cast(Database, None), sink, instance_filter=None, with_events=False, show_progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Holding every line, or every document, would break the bound. (From MongoDB, 20,000
    # instances, a file of 29 MB, peaked at 0.8 MB.)
    assert sink.size > 2_500_000 and peak < sink.size / 5


def test_an_exported_line_is_stored_as_it_is_only_with_the_identity_every_stored_instance_has(tmp_path: Path) -> None:
    """An export's instance skips normalization, not the rules that the shard key and every
    read rely on: the id is `{instanceOwner.partyId}/{guid}` with the party id as text, the
    app and its owner are known, and no top-level field is an operator (MongoDB refuses one
    in a replacement). An event belongs to an instance by its id."""
    good = normalize_instance(make_instance(party_id="1337"))
    guid = good["id"].partition("/")[2]
    hostile = [
        good | {"id": f"500/{guid}"},  # another party's id under 1337's owner
        good | {"id": guid},  # the guid alone: normalization would add the party, a stored line has it
        good | {"instanceOwner": {"partyId": 1337}},  # a number, where every read looks for the text
        {k: v for k, v in good.items() if k != "instanceOwner"},
        {k: v for k, v in good.items() if k != "org"},
        good | {"appId": "no-owner"},
        good | {"$where": "1"},
    ]
    events = [{"id": "e1"}, {"id": "e2", "instanceId": 7}, {"id": "e3", "instanceId": good["id"], "$set": 1}]
    path = tmp_path / "export.ndjson"
    lines = [{"instance": good}, *({"instance": h} for h in hostile), *({"event": e} for e in events)]
    path.write_text("".join(exporter._line(*next(iter(line.items()))).decode() for line in lines))
    batch = read_instances([path])
    assert [d["id"] for d in batch.documents] == [good["id"]] and batch.events == []
    assert [error.partition(": ")[0] for error in batch.errors] == [f"{path}:{n}" for n in range(2, 2 + 7 + 3)]
    assert batch.errors[1].endswith(f"the identity is not as stored: id '1337/{guid}', partyId '1337', org 'ttd'")
    written_by_hand = tmp_path / "instance.json"
    written_by_hand.write_text(json.dumps(make_instance() | {"$where": "1"}))
    assert read_instances([written_by_hand]).errors == [
        f"{written_by_hand}:1: a top-level field cannot start with $: '$where'"
    ]
