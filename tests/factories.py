"""Small builders of instance documents in Altinn's API form."""

import uuid
from typing import Any


def make_instance(
    *,
    party_id: str = "1337",
    app_id: str = "ttd/skjema-a",
    guid: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An instance at Task_1; keyword arguments replace or add top-level fields."""
    guid = guid or str(uuid.uuid4())
    document: dict[str, Any] = {
        "id": f"{party_id}/{guid}",
        "instanceOwner": {"partyId": party_id},
        "appId": app_id,
        "org": app_id.split("/")[0],
        "process": {
            "started": "2024-01-01T10:00:00Z",
            "startEvent": "StartEvent_1",
            "currentTask": {"flow": 2, "elementId": "Task_1", "altinnTaskType": "data"},
        },
        "status": {"isArchived": False, "isSoftDeleted": False, "isHardDeleted": False},
        "data": [],
        "created": "2024-01-01T10:00:00Z",
        "createdBy": party_id,
        "lastChanged": "2024-01-01T10:00:00Z",
        "lastChangedBy": party_id,
    }
    document.update(fields)
    return document


def make_data_element(instance_guid: str = "", **fields: Any) -> dict[str, Any]:
    element: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "instanceGuid": instance_guid,
        "dataType": "default",
        "contentType": "application/xml",
        "size": 100,
        "locked": False,
        "created": "2024-01-01T10:00:00Z",
        "lastChanged": "2024-01-01T10:00:00Z",
    }
    element.update(fields)
    return element
