"""The data set: instances shaped like real Altinn documents, generated from a seed, so every run
measures the same data.

Three `ttd` apps and one app of another org; each instance with its process at a task or ended,
a status with read status and sometimes a substatus, 1-4 data elements with every field,
presentation texts, data values and complete confirmations; timestamps in .NET's form.
"""

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from app.authorization.tokens import mint_token
from app.store.documents import normalize_instance

SECRET = "instance-gateway-benchmark-secret-of-at-least-32-bytes"
ORG = "ttd"
ORG_NUMBER = "991825827"
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
APPS = (  # (appId, share, name of the form data type, task names)
    ("ttd/skjema-a", 45, "skjema-a-modell", ("Utfylling", "Bekreftelse")),
    ("ttd/skjema-b", 25, "skjema-b-modell", ("Utfylling", "Signering")),
    ("ttd/melding", 20, "melding", ("Melding",)),
    ("skd/mva-melding", 10, "mva-melding", ("Utfylling", "Bekreftelse")),  # another org: not visible to ttd
)


def service_owner_token() -> str:
    """The caller of every measurement: the service owner ttd, read and write scopes (HS256)."""
    return mint_token(secret=SECRET, org=ORG, org_number=ORG_NUMBER)


def _timestamp(moment: datetime, rng: random.Random) -> str:
    """.NET's form: 7 fractional digits, `Z` or `+00:00`."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}{rng.randrange(10)}"
    return text + ("Z" if rng.random() < 0.7 else "+00:00")


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _owner(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.8:
        number = rng.randrange(1500)
        return {
            "partyId": str(50_000_000 + number),
            "personNumber": f"{(number % 28) + 1:02d}{rng.randrange(1, 13):02d}{rng.randrange(40, 99)}{number:05d}",
            "organisationNumber": None,
            "username": None,
        }
    number = rng.randrange(300)
    return {
        "partyId": str(51_000_000 + number),
        "personNumber": None,
        "organisationNumber": str(910_000_000 + number),
        "username": None,
    }


def _links(path: str) -> dict[str, str]:
    return {
        "apps": f"https://{path.split('/')[0]}.apps.altinn.no/{path}",
        "platform": f"https://platform.altinn.no/storage/api/v1/{path.split('/', 2)[2]}",
    }


def _data_element(
    rng: random.Random, app_id: str, instance_path: str, guid: str, index: int, created: datetime, form: str
) -> dict[str, Any]:
    element_id = _guid(rng)
    is_form = index == 0
    changed = created + timedelta(minutes=rng.randrange(0, 600))
    user = str(rng.randrange(1000, 99999))
    return {
        "id": element_id,
        "instanceGuid": guid,
        "dataType": form if is_form else rng.choice(("vedlegg", "dokumentasjon", "ref-data-as-pdf")),
        "filename": None if is_form else f"vedlegg-{index}.pdf",
        "contentType": "application/xml" if is_form else "application/pdf",
        "blobStoragePath": f"{app_id}/{guid}/data/{element_id}",
        "selfLinks": _links(f"{app_id}/instances/{instance_path}/data/{element_id}"),
        "size": rng.randrange(400, 4000) if is_form else rng.randrange(20_000, 5_000_000),
        "contentHash": None if is_form else f"{rng.getrandbits(256):064x}",
        "locked": rng.random() < 0.3,
        "refs": [] if is_form else [_guid(rng)],
        "isRead": rng.random() < 0.8,
        "tags": [] if is_form else rng.sample(["signert", "kvittering", "vedlegg", "original"], rng.randrange(3)),
        "userDefinedMetadata": [] if is_form else [{"key": "kilde", "value": "opplasting"}],
        "metadata": [{"key": "ContentType", "value": "application/pdf"}] if not is_form else [],
        "deleteStatus": {"isHardDeleted": False, "hardDeleted": None},
        "fileScanResult": "NotApplicable" if is_form else rng.choice(("Clean", "Clean", "Clean", "Pending")),
        "references": []
        if is_form
        else [{"value": _guid(rng), "relation": "GeneratedFrom", "valueType": "DataElement"}],
        "created": _timestamp(created, rng),
        "createdBy": user,
        "lastChanged": _timestamp(changed, rng),
        "lastChangedBy": user,
    }


def make_instance(rng: random.Random) -> dict[str, Any]:
    """One instance in Altinn's API form, all of its parts filled as a real one would be."""
    app_id, _, form, task_names = rng.choices(APPS, weights=[a[1] for a in APPS])[0]
    org = app_id.split("/")[0]
    owner, guid = _owner(rng), _guid(rng)
    path = f"{owner['partyId']}/{guid}"
    created = EPOCH + timedelta(seconds=rng.randrange(365 * 24 * 3600), microseconds=rng.randrange(10**6))
    last_changed = created + timedelta(seconds=rng.randrange(30 * 24 * 3600))
    creator = str(rng.randrange(1000, 99999))
    ended = rng.random() < 0.35
    flow = rng.randrange(2, 2 + 2 * len(task_names))
    task_index = rng.randrange(len(task_names))
    current_task = None
    if not ended:
        current_task = {
            "flow": flow,
            "started": _timestamp(created + timedelta(minutes=flow), rng),
            "elementId": f"Task_{task_index + 1}",
            "name": task_names[task_index],
            "altinnTaskType": ("data", "confirmation", "signing")[min(task_index, 2)],
            "ended": None,
            "validated": {"timestamp": _timestamp(last_changed, rng), "canCompleteTask": rng.random() < 0.7}
            if rng.random() < 0.5
            else None,
            "flowType": "CompleteCurrentMoveToNext",
        }
    soft_deleted = rng.random() < 0.05
    substatus = None
    if rng.random() < 0.25:
        substatus = rng.choice(
            (
                {"label": "Under behandling", "description": "Saken er mottatt og behandles."},
                {"label": "Venter på dokumentasjon fra søker", "description": "Last opp vedlegg."},
                {"label": "Godkjent", "description": None},
            )
        )
    data_created = created + timedelta(seconds=30)
    data = [
        _data_element(rng, app_id, path, guid, i, data_created + timedelta(minutes=i), form)
        for i in range(rng.randrange(1, 5))
    ]
    return {
        "id": path,
        "instanceOwner": owner,
        "appId": app_id,
        "org": org,
        "selfLinks": _links(f"{app_id}/instances/{path}"),
        "dueBefore": _timestamp(created + timedelta(days=30), rng) if rng.random() < 0.3 else None,
        "visibleAfter": _timestamp(created, rng) if rng.random() < 0.2 else None,
        "process": {
            "started": _timestamp(created, rng),
            "startEvent": "StartEvent_1",
            "currentTask": current_task,
            "ended": _timestamp(last_changed, rng) if ended else None,
            "endEvent": "EndEvent_1" if ended else None,
        },
        "status": {
            "isArchived": ended,
            "archived": _timestamp(last_changed, rng) if ended else None,
            "isSoftDeleted": soft_deleted,
            "softDeleted": _timestamp(last_changed, rng) if soft_deleted else None,
            "isHardDeleted": False,
            "hardDeleted": None,
            "readStatus": rng.choice(("Read", "Read", "Unread", "UpdatedSinceLastReview")),
            "substatus": substatus,
        },
        "completeConfirmations": [{"stakeholderId": org, "confirmedOn": _timestamp(last_changed, rng)}]
        if ended and rng.random() < 0.5
        else [],
        "data": data,
        "presentationTexts": {"Navn": f"Søknad {rng.randrange(10_000)}", "Kommune": rng.choice(("Oslo", "Bergen"))},
        "dataValues": {"saksnummer": f"{created.year}/{rng.randrange(100_000)}"} if rng.random() < 0.4 else {},
        "created": _timestamp(created, rng),
        "createdBy": creator,
        "lastChanged": _timestamp(last_changed, rng),
        "lastChangedBy": creator if rng.random() < 0.7 else ORG_NUMBER,
    }


def make_instances(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_instance(rng) for _ in range(count)]


def as_served(instances: Iterable[dict[str, Any]], org: str = ORG) -> list[dict[str, Any]]:
    """The instances of `org` in the gateway's default order (last changed first, id breaking
    ties), in API form: what the service owner's default page lists, in its order."""
    mine = [i for i in instances if i["appId"].startswith(f"{org}/")]
    stored = {i["id"]: normalize_instance(i)["lastChanged"] for i in mine}
    return sorted(mine, key=lambda i: (stored[i["id"]], i["id"]), reverse=True)


def write_ndjson(instances: Iterable[dict[str, Any]], path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in instances))
    return path
