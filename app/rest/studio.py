"""Altinn Studio's list of an app's instances (Altinn's StudioInstancesController.GetInstances):
a few of the query parameters, ten a page unless `size` says otherwise, each instance in
Altinn's SimpleInstance form, and `next` the bare continuation token rather than a URL."""

import dataclasses
from typing import Any

from app.errors import Forbidden
from app.rest.instance_query import CONFIRMED, CONTINUATION_TOKEN, DATES, EQUALS, FLAGS, instances_query
from app.rest.listing import find_instances
from app.rest.model import INSTANCE, Flag, Model, Text, Timestamp, altinn_timestamp
from app.rest.operations import Call, Operation
from app.rest.parameters import Parameter
from app.values import timestamp

STUDIO_INSTANCES = "/storage/api/v1/studio/instances/{org}/{app}"
STUDIO_PAGE_SIZE = 10  # Altinn's default for Studio
READ = ("Read", "UpdatedSinceLastReview")

ARCHIVE_REFERENCE = Parameter(
    "archiveReference", "The instance whose id ends with this reference (ignoring case).", {"type": "string"}
)
STUDIO_SIZE = Parameter(
    "size",
    "Instances on a page: 10 unless given, at most GATEWAY_MAX_PAGE_SIZE.",
    {"type": "integer", "minimum": 1, "default": STUDIO_PAGE_SIZE},
)
_BOUND = (
    "process.currentTask",
    "process.isComplete",
    "lastChanged",
    "created",
    "status.isSoftDeleted",
    "status.isHardDeleted",
    "status.isArchived",
)
# StudioInstanceParameters: what Altinn binds for Studio.
STUDIO_PARAMETERS = (
    ARCHIVE_REFERENCE,
    *(p for p in (*EQUALS, *FLAGS, *DATES) if p.name in _BOUND),
    CONFIRMED,
    CONTINUATION_TOKEN,
    STUDIO_SIZE,
)
SIMPLE_INSTANCE = Model(
    "SimpleInstance",
    "An instance as Altinn Studio lists it: `id` is the GUID alone, `app` the app's name.",
    {
        "id": Text(),
        "org": Text(),
        "app": Text(),
        "isRead": Flag(False),
        "currentTaskId": Text(),
        "currentTaskName": Text(),
        "completedAt": Timestamp(),
        "archivedAt": Timestamp(),
        "softDeletedAt": Timestamp(),
        "hardDeletedAt": Timestamp(),
        "confirmedAt": Timestamp(),
        "createdAt": Timestamp(),
        "lastChangedAt": Timestamp(),
    },
)


async def list_studio_instances(call: Call) -> dict[str, Any]:
    context, path = call.context, call.request.path_params
    org, app = path["org"], path["app"]
    if context.caller.org != org:
        raise Forbidden(f"Only the app owner {org[:100]} lists the instances of {org[:100]}/{app[:100]}.")
    query = instances_query(
        call.query, caller_org=org, max_size=context.settings.max_page_size, default_size=STUDIO_PAGE_SIZE
    )
    conditions = {**query.instance_filter, "appId": {"eq": f"{org}/{app}"}}
    if ARCHIVE_REFERENCE.name in call.query:
        conditions["id"] = {"endsWith": call.query[ARCHIVE_REFERENCE.name][0].lower()}
    page = await find_instances(context, dataclasses.replace(query, instance_filter=conditions))
    instances = [simple_instance(d) for d in page.documents]
    # Newtonsoft writes the QueryResponse's unset `self` as null, and `next` null on the last page.
    return {
        "count": len(instances),
        "self": None,
        "next": page.cursors[-1] if page.has_next_page else None,
        "instances": instances,
    }


def simple_instance(document: dict[str, Any]) -> dict[str, Any] | None:
    """Altinn's SimpleInstance.FromInstance, from the instance in API JSON form."""
    instance = INSTANCE.render(document) or {}
    process, status = instance["process"] or {}, instance["status"]
    task = process.get("currentTask") or {}
    confirmations = [c for c in document.get("completeConfirmations") or [] if isinstance(c, dict)]
    confirmed = sorted(filter(None, (timestamp(c.get("confirmedOn")) for c in confirmations)))
    return SIMPLE_INSTANCE.render(
        {
            "id": (instance["id"] or "").partition("/")[2],
            "org": instance["org"],
            "app": (instance["appId"] or "").partition("/")[2],
            "isRead": status["readStatus"] in READ,
            "currentTaskId": task.get("elementId"),
            "currentTaskName": task.get("name"),
            "completedAt": process.get("ended"),
            "archivedAt": status["archived"],
            "softDeletedAt": status["softDeleted"],
            "hardDeletedAt": status["hardDeleted"],
            "confirmedAt": altinn_timestamp(confirmed[0]) if confirmed else None,
            "createdAt": instance["created"],
            "lastChangedAt": instance["lastChanged"],
        }
    )


STUDIO_OPERATION = Operation(
    "GET",
    STUDIO_INSTANCES,
    "getStudioInstances",
    "Altinn Studio's list of an app's instances, ten a page; the app owner only.",
    list_studio_instances,
    answer="SimpleInstanceQueryResponse",
    query=STUDIO_PARAMETERS,
    errors=(400, 401, 403, 503),
)
