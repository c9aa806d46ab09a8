"""GET /storage/api/v1/instances: Altinn's query parameters as an InstanceFilter (the plain
data that app/store/filters.py compiles, the same as GraphQL's `filter`), with the order, the
page size and the continuation token.

A dotted parameter name is the filter's path: `process.currentTask` is
`{"process": {"currentTask": ...}}`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.config import DEFAULT_PAGE_SIZE, Settings
from app.rest.parameters import (
    DATE_OPERATORS,
    Parameter,
    ParameterError,
    date_conditions,
    flag,
    one_of,
    party_id,
    shown,
    whole_number,
)
from app.store.ordering import SortKey

Filter = dict[str, Any]

ORDERS = {
    "desc:lastChanged": SortKey("lastChanged", descending=True),
    "asc:lastChanged": SortKey("lastChanged", descending=False),
}
_DATE = {"type": "string", "pattern": f"^({'|'.join(DATE_OPERATORS)}):.+$", "examples": ["lte:2020-09-30"]}
_FLAG = {"type": "boolean"}


def _text(name: str, description: str, **schema: Any) -> Parameter:
    return Parameter(name, description, {"type": "string", **schema})


def _date(name: str, what: str) -> Parameter:
    return Parameter(
        name,
        f"{what}, as op:date with op one of {', '.join(DATE_OPERATORS)}; repeat it for a range "
        f"({name}=gte:2020-01-01&{name}=lt:2020-02-01). A date without a zone is UTC.",
        _DATE,
        repeatable=True,
    )


EQUALS = (
    _text("org", "The app owner's org code, e.g. ttd."),
    _text("appId", "The app, as {org}/{app}.", pattern="^[^/]+/[^/]+$", examples=["ttd/skjema-a"]),
    _text("process.currentTask", "The current task's id, e.g. Task_1."),
    _text("process.endEvent", "The end event the process ended with, e.g. EndEvent_1."),
    _text("instanceOwner.partyId", "The instance owner's party id.", pattern="^[0-9]{1,10}$"),
)
FLAGS = (
    Parameter("process.isComplete", "true: the process has ended; false: a task is current.", _FLAG),
    Parameter("status.isArchived", "Whether the instance is archived.", _FLAG),
    Parameter("status.isSoftDeleted", "Whether the instance is in the recycle bin.", _FLAG),
    Parameter(
        "status.isHardDeleted",
        "Whether the instance is deleted for good; hard-deleted instances are left out unless this is given "
        "(end users never see them).",
        _FLAG,
    ),
)
DATES = (
    _date("created", "When the instance was created"),
    _date("lastChanged", "When the instance last changed"),
    _date("dueBefore", "The instance's deadline"),
    _date("visibleAfter", "When the instance becomes visible to its users"),
    _date("process.ended", "When the process ended"),
)
EXCLUDE_CONFIRMED_BY = Parameter(
    "excludeConfirmedBy",
    "Leave out instances this stakeholder (an org code) has confirmed complete; repeatable.",
    {"type": "string"},
    repeatable=True,
)
CONFIRMED = Parameter(
    "confirmed",
    "false: leave out the instances the calling app owner has confirmed complete (excludeConfirmedBy=<own org>); "
    "true: only those. For service owners' tokens.",
    _FLAG,
)
SIZE = Parameter(
    "size",
    "Instances on a page: 100 unless given, at most GATEWAY_MAX_PAGE_SIZE (1000 unless configured).",
    {
        "type": "integer",
        "minimum": 1,
        "maximum": Settings.model_fields["max_page_size"].default,
        "default": DEFAULT_PAGE_SIZE,
    },
)
CONTINUATION_TOKEN = Parameter(
    "continuationToken",
    "Opaque: where the next page starts. Follow `next`, which carries it with the other parameters unchanged.",
    {"type": "string"},
)
ORDER = Parameter(
    "order",
    "By lastChanged, newest first (the default) or oldest first; the instance id breaks ties.",
    {"type": "string", "enum": list(ORDERS), "default": "desc:lastChanged"},
)
PARAMETERS = (*EQUALS, *FLAGS, *DATES, EXCLUDE_CONFIRMED_BY, CONFIRMED, SIZE, CONTINUATION_TOKEN, ORDER)


@dataclass(frozen=True)
class InstancesQuery:
    instance_filter: Filter
    order: SortKey
    size: int
    continuation_token: str | None


def instances_query(given: Mapping[str, list[str]], *, caller_org: str | None, max_size: int) -> InstancesQuery:
    """The query that these allow-listed parameters (see `read_query`) ask for; `caller_org` is
    the calling service owner's org (None for an end user)."""
    instance_filter: Filter = {}
    for parameter in EQUALS:
        if parameter.name in given:
            _put(instance_filter, parameter.name, {"eq": _equal_to(parameter.name, given[parameter.name][0])})
    for parameter in FLAGS:
        if parameter.name in given:
            _put(instance_filter, parameter.name, flag(parameter.name, given[parameter.name][0]))
    for parameter in DATES:
        if parameter.name in given:
            _put(instance_filter, parameter.name, date_conditions(parameter.name, given[parameter.name]))
    instance_filter |= _confirmations(given, caller_org)
    size = DEFAULT_PAGE_SIZE
    if SIZE.name in given:
        size = whole_number(SIZE.name, given[SIZE.name][0], 1, max_size)
    order = ORDERS["desc:lastChanged"]
    if ORDER.name in given:
        order = one_of(ORDER.name, given[ORDER.name][0], ORDERS)
    token = given.get(CONTINUATION_TOKEN.name, [None])[0]
    return InstancesQuery(instance_filter=instance_filter, order=order, size=size, continuation_token=token)


def _equal_to(name: str, value: str) -> str:
    if name == "instanceOwner.partyId":
        return party_id(name, value)
    if name == "appId" and (value.count("/") != 1 or value.startswith("/") or value.endswith("/")):
        raise ParameterError(name, f"appId must be {{org}}/{{app}}, e.g. ttd/skjema-a, not {shown(value)}.")
    return value


def _confirmations(given: Mapping[str, list[str]], caller_org: str | None) -> Filter:
    """excludeConfirmedBy and confirmed: each stakeholder excluded is one condition, all must hold."""
    excluded = list(given.get(EXCLUDE_CONFIRMED_BY.name, []))
    conditions: Filter = {}
    if CONFIRMED.name in given:
        confirmed = flag(CONFIRMED.name, given[CONFIRMED.name][0])
        if caller_org is None:
            raise ParameterError(
                CONFIRMED.name,
                "confirmed means the calling app owner's own confirmations: it needs a service owner's token "
                "(end users: use excludeConfirmedBy=<org>).",
            )
        if confirmed:
            conditions["not"] = {"excludeConfirmedBy": caller_org}
        else:
            excluded.append(caller_org)
    stakeholders = list(dict.fromkeys(excluded))
    if len(stakeholders) == 1:
        conditions["excludeConfirmedBy"] = stakeholders[0]
    elif stakeholders:
        conditions["and"] = [{"excludeConfirmedBy": s} for s in stakeholders]
    return conditions


def _put(instance_filter: Filter, dotted_name: str, condition: Any) -> None:
    *parents, leaf = dotted_name.split(".")
    for key in parents:
        instance_filter = instance_filter.setdefault(key, {})
    instance_filter[leaf] = condition
