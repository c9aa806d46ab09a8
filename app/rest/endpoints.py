"""Altinn Storage's instance endpoints, each doing what GraphQL does for the same need: reads
narrowed by the caller's read predicate (listing.altinn_read_restriction) in the store's one
query, changes through the same InstanceActions, so rules, events and lastChanged are the same."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.actions import InstanceActions
from app.context import Context
from app.errors import Forbidden, GatewayError, NotFound
from app.rest.answers import gateway_base, instance_answer, query_response
from app.rest.instance_query import INSTANCE_OWNER_IDENTIFIER, OWNER_HEADER, PARAMETERS, instances_query
from app.rest.listing import altinn_read_restriction, find_instances
from app.rest.model import INSTANCE_EVENT, READ_STATUSES
from app.rest.operations import Call, Operation
from app.rest.parameters import Parameter, ParameterError, flag, guid, shown
from app.rest.studio import STUDIO_OPERATION
from app.timestamps import InvalidTimestamp, to_storage

INSTANCES = "/storage/api/v1/instances"
INSTANCE = INSTANCES + "/{partyId}/{instanceGuid}"
INSTANCE_BY_GUID = INSTANCES + "/{instanceGuid}"
MESSAGEBOX_INSTANCE = "/storage/api/v1/sbl/instances/{partyId}/{instanceGuid}"
APP_INSTANCE = "/{org}/{app}/instances/{partyId}/{instanceGuid}"

HARD = Parameter(
    "hard",
    "true: delete for good (unrecoverable); false, the default: move to the recycle bin.",
    {"type": "boolean", "default": False},
)
EVENT_TYPES = Parameter(
    "eventTypes", "Only events of these types (repeat it for more); all when left out.", {"type": "string"}, True
)
FROM = Parameter(
    "from", "Only events created at or after this time (UTC unless a zone is given); needs to.", {"type": "string"}
)
TO = Parameter(
    "to", "Only events created at or before this time (UTC unless a zone is given); needs from.", {"type": "string"}
)
READ_STATUS = Parameter("status", "The new read status.", {"type": "string", "enum": list(READ_STATUSES)})
Answer = dict[str, Any]
Document = dict[str, Any]


async def query_instances(call: Call) -> Answer:
    context = call.context
    caller = context.caller
    query = instances_query(
        call.query,
        caller_org=caller.org,
        max_size=context.settings.max_page_size,
        owner_identifier=call.request.headers.get(INSTANCE_OWNER_IDENTIFIER),
        sees_hard_deleted=caller.is_service_owner or caller.is_sync_adapter,
    )
    page = await find_instances(context, query)
    access = await context.access()
    base, element_filter = gateway_base(call.request, context.settings.public_url), access.element_filter(None)
    documents = page.documents if query.include_data_elements else [{**d, "data": []} for d in page.documents]
    instances = [instance_answer(d, base, element_filter) for d in documents]
    next_token = page.cursors[-1] if page.has_next_page else None
    return query_response(base, call.request, instances, query.continuation_token, next_token)


async def get_instance(call: Call) -> Answer:
    context, instance_id = call.context, call.instance_id
    document = await context.store.get(instance_id, restriction=await altinn_read_restriction(context), fields=None)
    if document is None:
        raise await _unreadable(context, instance_id)
    return await _answer(call, document)


async def get_instance_by_guid(call: Call) -> Answer:
    """Altinn's GetByGuid: the instance whatever its owner, as GET with the party id answers it."""
    context, instance_guid = call.context, guid("instanceGuid", call.request.path_params["instanceGuid"])
    by_guid = {"id": {"endsWith": f"/{instance_guid}"}}
    readable = await _first(context, by_guid, restriction=await altinn_read_restriction(context), fields=None)
    if readable is not None:
        return await _answer(call, readable)
    # Only when the caller may not read it: whether there is one to refuse.
    unreadable = await _first(context, by_guid, restriction=None, fields=["id"])
    if unreadable is None:
        raise NotFound(f"Unable to find instance {instance_guid}")  # Altinn Storage's words
    raise Forbidden(f"The caller may not read instance {unreadable['id']}.")


async def _first(
    context: Context, instance_filter: Document, *, restriction: Document | None, fields: list[str] | None
) -> Document | None:
    page = await context.store.find_page(
        instance_filter=instance_filter, restriction=restriction, order=None, first=1, after=None, fields=fields
    )
    return page.documents[0] if page.documents else None


async def list_events(call: Call) -> Answer:
    """Altinn's InstanceEventsController.Get: the trail of an instance the caller may read (its
    policy's `read`, as for the instance itself), narrowed by eventTypes and, when both are
    given, by from and to."""
    context, instance_id = call.context, call.instance_id
    if not await _readable(context, instance_id, await altinn_read_restriction(context)):
        raise await _unreadable(context, instance_id)
    trail = await context.changes.trail_of(
        instance_id, event_types=call.query.get(EVENT_TYPES.name, []), created_between=_created_between(call)
    )
    return {"instanceEvents": [INSTANCE_EVENT.render(event) for event in trail]}


async def get_event(call: Call) -> Answer:
    """Altinn's InstanceEventsController.GetOne: one event of an instance the caller may read.
    Altinn's store finds the event by its id alone; here it must be the instance's, so that
    reading one instance cannot show another's trail."""
    context, instance_id = call.context, call.instance_id
    event_guid = guid("eventGuid", call.request.path_params["eventGuid"])
    if not await _readable(context, instance_id, await altinn_read_restriction(context)):
        raise await _unreadable(context, instance_id)
    found = await context.changes.trail_of(instance_id, event_id=event_guid)
    if not found:
        raise NotFound(f"Unable to find event {event_guid} of instance {instance_id}.")
    return INSTANCE_EVENT.render(found[0])


def _created_between(call: Call) -> tuple[datetime, datetime] | None:
    """from and to, when both are given; one alone is ignored, as Altinn ignores it."""
    if FROM.name not in call.query or TO.name not in call.query:
        return None
    return _moment(FROM.name, call.query[FROM.name][0]), _moment(TO.name, call.query[TO.name][0])


def _moment(name: str, value: str) -> datetime:
    try:
        return to_storage(value)
    except (InvalidTimestamp, ValueError, OverflowError):
        # Altinn Storage's words; the problem's `errors` names the parameter.
        raise ParameterError(
            name, "Unable to perform query. Invalid format for time span. Use string format of UTC."
        ) from None


async def set_substatus(call: Call) -> Answer:
    substatus = _substatus(await call.json_object())
    return await _answer(call, await _act(call, lambda actions: actions.set_substatus(call.instance_id, substatus)))


async def delete_instance(call: Call) -> Answer:
    hard = _hard(call)
    return await _answer(call, await _act(call, lambda actions: actions.delete(call.instance_id, hard=hard)))


async def delete_app_instance(call: Call) -> Answer:
    """The app's own DELETE, as the seed's recipe calls it: the same delete, for the app's
    instances only (each Altinn app serves its own {org}/{app} path)."""
    app_id, hard = f"{call.request.path_params['org']}/{call.request.path_params['app']}", _hard(call)
    deleted = await _act(call, lambda actions: actions.delete(call.instance_id, hard=hard, app_id=app_id))
    return await _answer(call, deleted)


async def undelete_instance(call: Call) -> bool:
    """The message box's restore (Altinn's MessageboxInstancesController.Undelete): true when the
    instance is out of the recycle bin, whether it was in it or not."""
    context, instance_id = call.context, call.instance_id
    if not await _readable(context, instance_id, await context.read_restriction()):
        # Altinn Storage's words.
        missing = f"Didn't find the object that should be restored with instanceId={instance_id}"
        raise await _unreadable(context, instance_id, missing=missing)
    # Readable, so a not-found from the restore is its own answer (_act would read again to say so).
    await (await context.actions()).restore(instance_id)
    return True


async def confirm_complete(call: Call) -> Answer:
    return await _answer(call, await _act(call, lambda actions: actions.confirm_complete(call.instance_id)))


async def set_read_status(call: Call) -> Answer:
    given = call.query.get(READ_STATUS.name, [""])[0]
    status = next((s for s in READ_STATUSES if s.lower() == given.lower()), None)
    if status is None:
        # Altinn Storage's words.
        raise ParameterError(
            READ_STATUS.name, f"Invalid read status: {given[:100]}. Accepted types include: {', '.join(READ_STATUSES)}"
        )
    return await _answer(call, await _act(call, lambda actions: actions.set_read_status(call.instance_id, status)))


async def _answer(call: Call, document: dict[str, Any]) -> Answer:
    access = await call.context.access()
    base = gateway_base(call.request, call.context.settings.public_url)
    return instance_answer(document, base, access.element_filter(None))


async def _act(call: Call, change: Callable[[InstanceActions], Awaitable[Document]]) -> Document:
    """The change, as GraphQL's mutation makes it; where that finds no instance, 403 when the
    instance exists but the caller may not read it (Altinn refuses it before it looks), else
    the change's own 404."""
    try:
        return await change(await call.context.actions())
    except NotFound as not_found:
        if await _readable(call.context, call.instance_id, await call.context.read_restriction()):
            raise
        raise await _unreadable(call.context, call.instance_id, missing=str(not_found)) from None


async def _readable(context: Context, instance_id: str, restriction: Document) -> bool:
    """Whether `restriction` lets the caller read the instance: Altinn's (altinn_read_restriction)
    for reads; for changes, the actions' own, which hides from end users what is not yet visible."""
    return await context.store.get(instance_id, restriction=restriction, fields=["id"]) is not None


async def _unreadable(context: Context, instance_id: str, *, missing: str | None = None) -> GatewayError:
    """Why the caller cannot read the instance: 404 (with `missing`, if given) when there is
    none, 403 when it is not the caller's to read, as Altinn Storage answers."""
    if await context.store.get(instance_id, restriction=None, fields=["id"]) is None:
        return NotFound(missing or f"Unable to find instance {instance_id}.")
    return Forbidden(f"The caller may not read instance {instance_id}.")


def _hard(call: Call) -> bool:
    return flag(HARD.name, call.query[HARD.name][0]) if HARD.name in call.query else False


SUBSTATUS_FIELDS = ("label", "description")


def _substatus(body: dict[str, Any]) -> dict[str, Any]:
    """Altinn's Substatus: a label that is a non-empty text, a description that is a text or
    null; nothing else."""
    for name in body:
        if name not in SUBSTATUS_FIELDS:
            raise ParameterError(name[:100], f"A substatus has a label and a description only, not {shown(name)}.")
    label, description = body.get("label"), body.get("description")
    if not isinstance(label, str) or not label.strip():
        raise ParameterError("label", "Invalid sub status: it must include a label, a non-empty text.")
    if description is not None and not isinstance(description, str):
        raise ParameterError("description", "Invalid sub status: description must be a text or null.")
    return {"label": label, "description": description}


OPERATIONS = (
    Operation(
        "GET",
        INSTANCES,
        "getInstances",
        "Query instances with Altinn Storage's parameters, a page at a time.",
        query_instances,
        answer="QueryResponse",
        query=PARAMETERS,
        headers=(OWNER_HEADER,),
        errors=(400, 401, 403, 503),
    ),
    Operation("GET", INSTANCE, "getInstance", "One instance.", get_instance, answer="Instance"),
    Operation(
        "GET",
        INSTANCE_BY_GUID,
        "getInstanceByGuid",
        "One instance, by its GUID alone.",
        get_instance_by_guid,
        answer="Instance",
    ),
    Operation(
        "DELETE",
        INSTANCE,
        "deleteInstance",
        "Delete the instance: to the recycle bin, or with hard=true for good.",
        delete_instance,
        answer="Instance",
        query=(HARD,),
    ),
    Operation(
        "PUT",
        f"{INSTANCE}/substatus",
        "updateSubstatus",
        "Replace the substatus (the app owner only).",
        set_substatus,
        answer="Instance",
        body="SubstatusInput",
        errors=(400, 401, 403, 404, 413, 503),
    ),
    Operation(
        "PUT",
        f"{MESSAGEBOX_INSTANCE}/undelete",
        "undeleteInstance",
        "Take a soft-deleted instance out of the recycle bin: true, also when it was not in it.",
        undelete_instance,
        answer="Restored",
    ),
    Operation(
        "POST",
        f"{INSTANCE}/complete",
        "addCompleteConfirmation",
        "Confirm, as the app owner, that the instance is no longer needed.",
        confirm_complete,
        answer="Instance",
    ),
    Operation(
        "PUT",
        f"{INSTANCE}/readstatus",
        "updateReadStatus",
        "Set whether the app user has read the instance; lastChanged stays.",
        set_read_status,
        answer="Instance",
        query=(READ_STATUS,),
    ),
    Operation(
        "GET",
        f"{INSTANCE}/events",
        "getInstanceEvents",
        "The instance's audit trail, oldest first, for whoever may read the instance.",
        list_events,
        answer="InstanceEventList",
        query=(EVENT_TYPES, FROM, TO),
    ),
    Operation(
        "GET",
        f"{INSTANCE}/events/{{eventGuid}}",
        "getInstanceEvent",
        "One event of the instance's audit trail, for whoever may read the instance.",
        get_event,
        answer="InstanceEvent",
    ),
    Operation(
        "DELETE",
        APP_INSTANCE,
        "deleteAppInstance",
        "The app's own delete of one of its instances, as an Altinn app serves it.",
        delete_app_instance,
        answer="Instance",
        query=(HARD,),
    ),
    STUDIO_OPERATION,
)
