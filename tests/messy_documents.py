"""Instance documents and audit events as real storage holds them at its worst: every field
that is not the instance's identity may be missing, null, of another type, an enum in another
spelling or as a .NET number, a number past 32 bits, a date that is no date. Written as they
are, without the loader's normalization. Built from a seed, so every run gets the same set.
"""

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.store.documents import normalize_instance

# Values that read as null, as a default, or as themselves in an odd type.
ODD_VALUES: list[Any] = [
    None,
    "",
    "x",
    "Ünïcødé ✓",
    "a" * 40,
    0,
    1,
    2,
    3,
    7,
    -1,
    2**31 - 1,
    2**31,  # past an Int: the general executor answers an error for it
    -(2**31) - 1,
    2**40,
    True,
    False,
    1.5,
    2.0,
    "12",
    " 12 ",
    [],
    ["a", None, 3, {"b": 1}],
    {},
    {"a": 1},
    "Read",
    "read",
    "UNREAD",
    "updatedsincelastreview",
    "clean",
    "INFECTED",
    "Pending",
    "2020-11-18T15:56:41.566Z",
    "2020-11-18",
    "2020-11-18T15:56:41+01:00",
    "not a date",
    datetime(2021, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
]

# Values that make the general executor fail a whole page (an instance it cannot read at all).
FATAL_VALUES: list[Any] = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]

_T0 = datetime(2023, 1, 1, tzinfo=UTC)


def _moment(rng: random.Random) -> datetime:
    return _T0 + timedelta(seconds=rng.randrange(3 * 365 * 24 * 3600), milliseconds=rng.randrange(1000))


def _element(rng: random.Random, guid: str) -> dict[str, Any]:
    element_id = str(uuid.UUID(int=rng.getrandbits(128)))
    return {
        "id": element_id,
        "instanceGuid": guid,
        "dataType": rng.choice(["default", "vedlegg", "ref-data-as-pdf"]),
        "filename": rng.choice([None, "vedlegg.pdf"]),
        "contentType": rng.choice(["application/xml", "application/pdf"]),
        "blobStoragePath": f"ttd/app/{guid}/data/{element_id}",
        "selfLinks": {"apps": f"https://apps/{element_id}", "platform": f"https://platform/{element_id}"},
        "size": rng.randrange(1, 5_000_000),
        "contentHash": rng.choice([None, f"{rng.getrandbits(64):016x}"]),
        "locked": rng.random() < 0.3,
        "refs": [str(uuid.UUID(int=rng.getrandbits(128)))],
        "isRead": rng.random() < 0.8,
        "tags": rng.sample(["signert", "kvittering", "vedlegg"], rng.randrange(3)),
        "userDefinedMetadata": [{"key": "kilde", "value": "opplasting"}],
        "metadata": [{"key": "ContentType", "value": "application/pdf"}, {"value": "no key"}],
        "deleteStatus": {"isHardDeleted": rng.random() < 0.2, "hardDeleted": _moment(rng)},
        "fileScanResult": rng.choice(["NotApplicable", "Clean", "Pending", "Infected"]),
        "references": [{"value": element_id, "relation": "GeneratedFrom", "valueType": "DataElement"}],
        "created": _moment(rng),
        "createdBy": str(rng.randrange(1000, 99999)),
        "lastChanged": _moment(rng),
        "lastChangedBy": str(rng.randrange(1000, 99999)),
    }


def _instance(rng: random.Random, party_id: str, app_id: str) -> dict[str, Any]:
    guid = str(uuid.UUID(int=rng.getrandbits(128)))
    created = _moment(rng)
    task = rng.choice(["Task_1", "Task_2", None])
    return normalize_instance(
        {
            "id": f"{party_id}/{guid}",
            "instanceOwner": {"partyId": party_id, "personNumber": "01039012345", "organisationNumber": None},
            "appId": app_id,
            "selfLinks": {"apps": f"https://apps/{guid}", "platform": f"https://platform/{guid}"},
            "dueBefore": rng.choice([None, _moment(rng)]),
            "visibleAfter": rng.choice([None, _moment(rng) - timedelta(days=2000)]),
            "process": {
                "started": created,
                "startEvent": "StartEvent_1",
                "currentTask": None
                if task is None
                else {
                    "flow": rng.randrange(1, 9),
                    "started": created,
                    "elementId": task,
                    "name": "Utfylling",
                    "altinnTaskType": "data",
                    "ended": None,
                    "validated": {"timestamp": _moment(rng), "canCompleteTask": True},
                    "flowType": "CompleteCurrentMoveToNext",
                },
                "ended": None if task else _moment(rng),
                "endEvent": None if task else "EndEvent_1",
            },
            "status": {
                "isArchived": task is None,
                "isSoftDeleted": rng.random() < 0.2,
                "isHardDeleted": False,
                "archived": _moment(rng),
                "softDeleted": None,
                "readStatus": rng.choice(["Read", "Unread", "UpdatedSinceLastReview"]),
                "substatus": rng.choice([None, {"label": "Under behandling hos saksbehandler", "description": "x"}]),
            },
            "completeConfirmations": [{"stakeholderId": "ttd", "confirmedOn": _moment(rng)}],
            "data": [_element(rng, guid) for _ in range(rng.randrange(4))],
            "presentationTexts": {"Navn": "Søknad", "Kommune": "Oslo"},
            "dataValues": {"saksnummer": "2023/1"},
            "created": created,
            "createdBy": party_id,
            "lastChanged": created + timedelta(hours=rng.randrange(1000)),
            "lastChangedBy": party_id,
        }
    )


# The paths an instance's identity and order rest on stay as they are: a page needs them.
_KEPT = {
    ("id",),
    ("instanceOwner",),
    ("instanceOwner", "partyId"),
    ("appId",),
    ("org",),
    ("lastChanged",),
    ("created",),
}


def _messed(
    rng: random.Random, value: Any, path: tuple[str, ...], odd: Callable[[tuple[str, ...]], Any], rate: float
) -> Any:
    """`value` with some of its fields, at any depth, replaced by odd values or left out."""
    if isinstance(value, dict):
        messed = {}
        for key, item in value.items():
            at = (*path, key)
            roll = rng.random()
            if at in _KEPT or roll > 2 * rate:
                messed[key] = _messed(rng, item, at, odd, rate)
            elif roll < rate:
                messed[key] = odd(at)
            # else: left out
        return messed
    if isinstance(value, list):
        return [_messed(rng, item, path, odd, rate) if rng.random() > rate else odd(path) for item in value]
    return value


def _readable(value: Any) -> bool:
    """Whether an instance's `data` with this value can be read at all (a number cannot)."""
    try:
        iter(value or [])
    except TypeError:
        return False
    return True


def messy_instances(
    seed: int, count: int, *, party_ids: list[str], app_ids: list[str], fatal: bool = False
) -> list[dict[str, Any]]:
    """`count` instances of these parties and apps, with odd values in some fields; with
    `fatal`, also values that fail a whole page: dates out of range once in UTC, a number for
    the list of data elements."""
    rng = random.Random(seed)
    values = ODD_VALUES + (FATAL_VALUES * 3 if fatal else [])
    data_values = values if fatal else [v for v in values if _readable(v)]

    def odd(path: tuple[str, ...]) -> Any:
        return rng.choice(data_values if path == ("data",) else values)

    return [
        _messed(rng, _instance(rng, rng.choice(party_ids), rng.choice(app_ids)), (), odd, 0.12) for _ in range(count)
    ]


def messy_events(seed: int, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A few audit events of each of these instances, some of them odd too."""
    rng = random.Random(seed)
    events = []
    for instance in instances:
        for _ in range(rng.randrange(4)):
            event = {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "instanceId": instance["id"],
                "dataId": None,
                "created": _moment(rng),
                "eventType": rng.choice(["Created", "Saved", "Deleted", "SubstatusUpdated"]),
                "instanceOwnerPartyId": instance["instanceOwner"]["partyId"],
                "user": {"userId": "1", "orgId": "ttd", "authenticationLevel": 2, "systemUserName": None},
                "processInfo": {
                    "started": _moment(rng),
                    "currentTask": {"flow": 2, "elementId": "Task_1", "started": _moment(rng)},
                },
                "additionalInfo": None,
            }
            messed = _messed(rng, event, (), lambda _path: rng.choice(ODD_VALUES), 0.1)
            events.append(messed | {"instanceId": instance["id"]})
    return events
