"""Documents load as they are and read back field for field through GraphQL."""

import json
from pathlib import Path

import pytest

from app.importer import read_instances
from app.store.documents import InvalidDocument, normalize_instance
from app.timestamps import format_timestamp, parse_timestamp
from tests.conftest import org_token
from tests.factories import make_instance
from tests.selections import INSTANCE_FIELDS

FIXTURES = Path(__file__).parent / "fixtures"
SEED = json.loads((FIXTURES / "seed-instance.json").read_text())

FULL_INSTANCE = f"query($id: ID!) {{ instance(id: $id) {{ {INSTANCE_FIELDS} }} }}"


def _as_shown(value: str | None) -> str | None:
    """A stored timestamp as the API shows it: UTC, milliseconds, Z."""
    return None if value is None else format_timestamp(parse_timestamp(value))


async def test_seed_example_reads_back_field_for_field(gateway_with):
    async with gateway_with([SEED]) as gw:
        instance = (await gw.data(FULL_INSTANCE, {"id": SEED["id"]}))["instance"]

    assert instance["id"] == SEED["id"]
    assert instance["instanceGuid"] == "bd9edd59-b18c-4726-aa9e-6b150eade814"
    assert instance["instanceOwner"] == {**SEED["instanceOwner"], "username": None, "externalIdentifier": None}
    assert instance["selfLinks"] == SEED["selfLinks"]
    for field in ("appId", "org", "createdBy", "lastChangedBy", "dueBefore", "visibleAfter"):
        assert instance[field] == SEED[field], field
    assert instance["created"] == "2020-11-18T15:56:42.197Z"
    assert instance["lastChanged"] == _as_shown(SEED["lastChanged"])
    task, seed_task = instance["process"]["currentTask"], SEED["process"]["currentTask"]
    assert instance["process"]["started"] == "2020-11-18T15:56:41.566Z"
    assert instance["process"]["startEvent"] == "StartEvent_1"
    assert (instance["process"]["ended"], instance["process"]["endEvent"]) == (None, None)
    assert {k: task[k] for k in ("flow", "elementId", "name", "altinnTaskType", "ended")} == {
        k: seed_task[k] for k in ("flow", "elementId", "name", "altinnTaskType", "ended")
    }
    assert task["validated"] == {"timestamp": "2020-11-20T13:00:05.180Z", "canCompleteTask": True}
    # status and completeConfirmations are null in the seed: they read as their defaults.
    assert instance["status"] == {
        "isArchived": False, "isSoftDeleted": False, "isHardDeleted": False, "archived": None,
        "softDeleted": None, "hardDeleted": None, "readStatus": "UNREAD", "substatus": None,
    }  # fmt: skip
    assert instance["completeConfirmations"] == []
    [element], [seed_element] = instance["data"], SEED["data"]
    for field in ("id", "instanceGuid", "dataType", "filename", "contentType", "blobStoragePath", "selfLinks",
                  "size", "locked", "refs", "createdBy", "lastChangedBy"):  # fmt: skip
        assert element[field] == seed_element[field], field
    assert element["created"] == element["lastChanged"] == "2020-11-18T15:56:43.108Z"
    assert (element["isRead"], element["tags"], element["fileScanResult"]) == (True, [], "NOT_APPLICABLE")


REAL_DOCUMENTS = sorted((FIXTURES / "altinn-instances").glob("*.json"))


def _latest_by_id(documents):
    """Altinn's test data repeats two ids across files; the later file wins, as an upsert would."""
    latest = {}
    for document in documents:
        latest[f"{document['instanceOwner']['partyId']}/{document['id']}"] = document
    return latest


def test_all_real_altinn_documents_load():
    batch = read_instances([FIXTURES / "altinn-instances"])
    assert batch.errors == []
    assert len(REAL_DOCUMENTS) == 58
    expected = _latest_by_id(json.loads(p.read_text()) for p in REAL_DOCUMENTS)
    assert sorted(d["id"] for d in batch.documents) == sorted(expected)
    assert len(batch.warnings) == 58 - len(expected)
    assert all("the later one is kept" in w for w in batch.warnings)


async def test_real_altinn_documents_read_back(gateway_with):
    raw = [json.loads(p.read_text()) for p in REAL_DOCUMENTS]
    async with gateway_with(raw) as gw:
        for instance_id, original in _latest_by_id(raw).items():
            token = org_token(original["org"])
            instance = (await gw.data(FULL_INSTANCE, {"id": instance_id}, token=token))["instance"]
            assert instance["appId"] == original["appId"]
            assert instance["org"] == original["org"]
            assert instance["created"] == _as_shown(original["created"])
            assert instance["lastChanged"] == _as_shown(original.get("lastChanged"))
            assert instance["visibleAfter"] == _as_shown(original.get("visibleAfter"))
            status = original["status"]
            assert instance["status"]["isHardDeleted"] == status["isHardDeleted"]
            assert instance["status"]["softDeleted"] == _as_shown(status.get("softDeleted"))
            assert (
                instance["status"]["readStatus"]
                == {None: "UNREAD", "read": "READ", "Read": "READ"}[status.get("readStatus")]
            )
            assert [e["id"] for e in instance["data"]] == [e["id"] for e in original.get("data", [])]
            assert [e["created"] for e in instance["data"]] == [
                _as_shown(e["created"]) for e in original.get("data", [])
            ]


def test_internal_form_keeps_unknown_fields_and_converts_timestamps():
    doc = normalize_instance(
        {
            "id": "6323a337-26e7-4d40-89e8-f5bb3d80be3a",
            "instanceOwner": {"partyId": 1337},
            "appId": "tdd/endring-av-navn",
            "_rid": "AnsTAK4aVt8czAIAAAAAAA==",
            "_ts": 1588234786,
            "¨visibleAfter": "2020-04-29T13:53:02.2836971Z",
            "title": {"nb": "Endring av navn"},
            "created": "2020-04-29T13:53:02.2836971Z",
            "dueBefore": "2020-06-01T12:00:00Z",
            "status": {"readStatus": "read", "softDeleted": "2020-04-29T13:53:02.283697Z"},
            "data": [{"id": "x", "created": "2020-04-29T13:53:03.0388998+00:00", "fileScanResult": "clean"}],
        }
    )
    assert doc["id"] == "1337/6323a337-26e7-4d40-89e8-f5bb3d80be3a"
    assert doc["org"] == "tdd"
    assert doc["instanceOwner"]["partyId"] == "1337"
    assert doc["_rid"] == "AnsTAK4aVt8czAIAAAAAAA==" and doc["title"] == {"nb": "Endring av navn"}
    assert doc["¨visibleAfter"] == "2020-04-29T13:53:02.2836971Z"  # unknown: kept as it is
    assert format_timestamp(doc["created"]) == "2020-04-29T13:53:02.283Z"
    assert doc["created"].microsecond == 283000
    assert doc["status"]["readStatus"] == "Read"
    assert doc["data"][0]["fileScanResult"] == "Clean"
    assert format_timestamp(doc["data"][0]["created"]) == "2020-04-29T13:53:03.038Z"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instanceOwner": {}}, "instanceOwner.partyId is required"),
        ({"id": ""}, "id is required"),
        ({"id": "999/abc"}, "does not match instanceOwner.partyId"),
        ({"appId": "no-slash"}, "appId is required"),
        ({"created": "yesterday"}, "created: not an ISO-8601"),
        ({"process": {"currentTask": {"started": "13:00"}}}, "process.currentTask.started"),
        ({"data": [{"id": "x"}, {"id": "y", "lastChanged": 5}]}, "data[1].lastChanged"),
    ],
)
def test_invalid_documents_are_refused_naming_the_field(change, message):
    with pytest.raises(InvalidDocument, match=message.replace("[", r"\[").replace(".", r"\.")):
        normalize_instance(make_instance(**change))


def test_a_json_array_file_reports_errors_with_file_and_line(tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([make_instance(), {"id": "x", "appId": "ttd/a"}, make_instance()], indent=2))
    batch = read_instances([path])
    assert len(batch.documents) == 2
    [error] = batch.errors
    line = path.read_text().splitlines().index("  {", 1) + 1
    assert error.startswith(f"{path}:") and "instanceOwner.partyId is required" in error
    assert int(error.split(":")[1]) > line


def test_ndjson_and_folders_load(tmp_path):
    (tmp_path / "a.ndjson").write_text("\n".join(json.dumps(make_instance()) for _ in range(3)) + "\n\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps(make_instance()))
    (folder / "two.json").write_text("{ not json")
    batch = read_instances([tmp_path / "a.ndjson", folder, tmp_path / "missing.json"])
    assert len(batch.documents) == 4
    assert len(batch.errors) == 2
    assert any("two.json:1" in e for e in batch.errors)
    assert any("missing.json: no such file" in e for e in batch.errors)
