"""Instance documents as they are stored: Altinn's JSON, with BSON dates.

Loading accepts the API form and Altinn's internal form (an `id` that is the guid alone),
keeps fields the model does not know, and refuses a document whose identity is unusable
rather than storing something half-right.
"""

import copy
from collections.abc import Callable
from typing import Any

from app.timestamps import InvalidTimestamp, to_storage

Document = dict[str, Any]


class InvalidDocument(ValueError):
    pass


class SkippedDocument(ValueError):
    """A document that is valid but not for this gateway; reported, not loaded."""


_INSTANCE_TIMESTAMPS = ("dueBefore", "visibleAfter", "created", "lastChanged")
_PROCESS_TIMESTAMPS = ("started", "ended")
_TASK_TIMESTAMPS = ("started", "ended")
_STATUS_TIMESTAMPS = ("archived", "softDeleted", "hardDeleted")
_ELEMENT_TIMESTAMPS = ("created", "lastChanged")

_READ_STATUSES = ("Unread", "Read", "UpdatedSinceLastReview")
_FILE_SCAN_RESULTS = ("NotApplicable", "Pending", "Clean", "Infected")


def _convert_timestamps(container: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(container, dict):
        return
    for key in keys:
        value = container.get(key)
        if value is None:
            continue
        try:
            container[key] = to_storage(value)
        except InvalidTimestamp as error:
            raise InvalidDocument(f"{where}{key}: {error}") from None


def _canonical_enum(container: Any, key: str, names: tuple[str, ...]) -> None:
    """Store Altinn's spelling of an enum, whatever case or .NET number it came in."""
    if not isinstance(container, dict) or container.get(key) is None:
        return
    value = container[key]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        container[key] = names[value]
    elif isinstance(value, str):
        container[key] = next((n for n in names if n.lower() == value.lower()), value)


def _each(items: Any, convert: Callable[[dict[str, Any], str], None], where: str) -> None:
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                convert(item, f"{where}[{index}].")


def _data_element(element: dict[str, Any], where: str) -> None:
    _convert_timestamps(element, _ELEMENT_TIMESTAMPS, where)
    _convert_timestamps(element.get("deleteStatus"), ("hardDeleted",), where + "deleteStatus.")
    _canonical_enum(element, "fileScanResult", _FILE_SCAN_RESULTS)


def _confirmation(confirmation: dict[str, Any], where: str) -> None:
    _convert_timestamps(confirmation, ("confirmedOn",), where)


def _identity(doc: Document) -> None:
    owner = doc.get("instanceOwner")
    if not isinstance(owner, dict) or owner.get("partyId") in (None, ""):
        raise InvalidDocument("instanceOwner.partyId is required")
    party_id = owner["partyId"] = str(owner["partyId"])
    instance_id = doc.get("id")
    if not isinstance(instance_id, str) or not instance_id.strip():
        raise InvalidDocument("id is required: '{partyId}/{guid}' or the guid alone")
    if "/" not in instance_id:
        instance_id = f"{party_id}/{instance_id}"
    owner_part, _, guid = instance_id.partition("/")
    if owner_part != party_id or not guid or "/" in guid:
        raise InvalidDocument(f"id {instance_id!r} does not match instanceOwner.partyId {party_id!r}")
    doc["id"] = instance_id
    app_id = doc.get("appId")
    if not isinstance(app_id, str) or app_id.count("/") != 1:
        raise InvalidDocument("appId is required as '{org}/{app}'")
    doc.setdefault("org", app_id.partition("/")[0])
    if not isinstance(doc["org"], str) or not doc["org"]:
        raise InvalidDocument("org must be the app owner's code")


def check_stored_identity(doc: Document) -> None:
    """Raises InvalidDocument unless `doc` holds its identity exactly as loading stores it, for
    a document stored as it is (an export's): the shard key and every read rely on it."""
    owner = doc.get("instanceOwner")
    stored = doc | {"instanceOwner": dict(owner) if isinstance(owner, dict) else owner}
    _identity(stored)
    if stored != doc:
        owner_id, org = stored["instanceOwner"]["partyId"], stored["org"]
        raise InvalidDocument(f"the identity is not as stored: id {stored['id']!r}, partyId {owner_id!r}, org {org!r}")


def check_field_names(doc: Document) -> None:
    # MongoDB refuses a `$` at the start of a top-level field of a document it replaces.
    operator = next((key for key in doc if key.startswith("$")), None)
    if operator is not None:
        raise InvalidDocument(f"a top-level field cannot start with $: {operator!r}")


def normalize_instance(raw: Any) -> Document:
    """A loaded document in stored form; raises InvalidDocument naming the offending field."""
    if not isinstance(raw, dict):
        raise InvalidDocument("an instance must be a JSON object")
    doc: Document = copy.deepcopy({k: v for k, v in raw.items() if k != "_id"})
    _identity(doc)
    check_field_names(doc)
    _convert_timestamps(doc, _INSTANCE_TIMESTAMPS, "")
    process = doc.get("process")
    _convert_timestamps(process, _PROCESS_TIMESTAMPS, "process.")
    if isinstance(process, dict):
        task = process.get("currentTask")
        _convert_timestamps(task, _TASK_TIMESTAMPS, "process.currentTask.")
        if isinstance(task, dict):
            _convert_timestamps(task.get("validated"), ("timestamp",), "process.currentTask.validated.")
    status = doc.get("status")
    _convert_timestamps(status, _STATUS_TIMESTAMPS, "status.")
    _canonical_enum(status, "readStatus", _READ_STATUSES)
    _each(doc.get("completeConfirmations"), _confirmation, "completeConfirmations")
    _each(doc.get("data"), _data_element, "data")
    return doc
