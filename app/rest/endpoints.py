"""Altinn Storage's instance endpoints, each doing what GraphQL does for the same need: reads
narrowed by the caller's read predicate (Context.read_restriction) in the store's one query,
changes through the same InstanceActions, so rules, events and lastChanged are the same."""

from typing import Any

from app.authorization.access import check_audit_trail
from app.context import Context
from app.errors import Forbidden, GatewayError, NotFound
from app.rest.answers import gateway_base, instance_answer, query_response
from app.rest.instance_query import INSTANCE_OWNER_IDENTIFIER, PARAMETERS, instances_query
from app.rest.listing import find_instances
from app.rest.model import INSTANCE_EVENT, READ_STATUSES
from app.rest.operations import Call, Operation
from app.rest.parameters import Parameter, ParameterError, flag, guid, shown
from app.rest.studio import STUDIO_OPERATION

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
READ_STATUS = Parameter("status", "The new read status.", {"type": "string", "enum": list(READ_STATUSES)})
Answer = dict[str, Any]


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
    document = await context.store.get(instance_id, restriction=await context.read_restriction(), fields=None)
    if document is None:
        raise await _unreadable(context, instance_id)
    return await _answer(call, document)


async def get_instance_by_guid(call: Call) -> Answer:
    """Altinn's GetByGuid: the instance whatever its owner, as GET with the party id answers it."""
    context, instance_guid = call.context, guid("instanceGuid", call.request.path_params["instanceGuid"])
    page = await context.store.find_page(
        instance_filter={"id": {"endsWith": f"/{instance_guid}"}},
        restriction=None,
        order=None,
        first=1,
        after=None,
        fields=["id"],
    )
    if not page.documents:
        raise NotFound(f"Unable to find instance {instance_guid}")  # Altinn Storage's words
    instance_id = str(page.documents[0]["id"])
    document = await context.store.get(instance_id, restriction=await context.read_restriction(), fields=None)
    if document is None:
        raise Forbidden(f"The caller may not read instance {instance_id}.")
    return await _answer(call, document)


async def list_events(call: Call) -> Answer:
    context, instance_id = call.context, call.instance_id
    document = await context.store.get(instance_id, restriction=await context.read_restriction(), fields=["org"])
    if document is None:
        raise await _unreadable(context, instance_id)
    check_audit_trail(context.caller, instance_id=instance_id, org=str(document.get("org") or ""))
    trail = await context.changes.events_of([instance_id])
    return {"instanceEvents": [INSTANCE_EVENT.render(event) for event in trail[instance_id]]}


async def set_substatus(call: Call) -> Answer:
    substatus = _substatus(await call.json_object())
    actions = await call.context.actions()
    return await _answer(call, await actions.set_substatus(call.instance_id, substatus))


async def delete_instance(call: Call) -> Answer:
    actions = await call.context.actions()
    return await _answer(call, await actions.delete(call.instance_id, hard=_hard(call)))


async def delete_app_instance(call: Call) -> Answer:
    """The app's own DELETE, as the seed's recipe calls it: the same delete, for the app's
    instances only (each Altinn app serves its own {org}/{app} path)."""
    app_id = f"{call.request.path_params['org']}/{call.request.path_params['app']}"
    actions = await call.context.actions()
    return await _answer(call, await actions.delete(call.instance_id, hard=_hard(call), app_id=app_id))


async def undelete_instance(call: Call) -> bool:
    """The message box's restore (Altinn's MessageboxInstancesController.Undelete): true when the
    instance is out of the recycle bin, whether it was in it or not."""
    context, instance_id = call.context, call.instance_id
    if await context.store.get(instance_id, restriction=await context.read_restriction(), fields=["id"]) is None:
        # Altinn Storage's words.
        raise NotFound(f"Didn't find the object that should be restored with instanceId={instance_id}")
    actions = await context.actions()
    await actions.restore(instance_id)
    return True


async def confirm_complete(call: Call) -> Answer:
    actions = await call.context.actions()
    return await _answer(call, await actions.confirm_complete(call.instance_id))


async def set_read_status(call: Call) -> Answer:
    given = call.query.get(READ_STATUS.name, [""])[0]
    status = next((s for s in READ_STATUSES if s.lower() == given.lower()), None)
    if status is None:
        # Altinn Storage's words.
        raise ParameterError(
            READ_STATUS.name, f"Invalid read status: {given[:100]}. Accepted types include: {', '.join(READ_STATUSES)}"
        )
    actions = await call.context.actions()
    return await _answer(call, await actions.set_read_status(call.instance_id, status))


async def _answer(call: Call, document: dict[str, Any]) -> Answer:
    access = await call.context.access()
    base = gateway_base(call.request, call.context.settings.public_url)
    return instance_answer(document, base, access.element_filter(None))


async def _unreadable(context: Context, instance_id: str) -> GatewayError:
    """Why the caller cannot read the instance: 404 when there is none, 403 when it is not
    the caller's to read, as Altinn Storage answers."""
    if await context.store.get(instance_id, restriction=None, fields=["id"]) is None:
        return NotFound(f"Unable to find instance {instance_id}.")
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
        "The instance's audit trail, oldest first (the app owner only).",
        list_events,
        answer="InstanceEventList",
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
