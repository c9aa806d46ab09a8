"""GET /storage/api/v1/instances: Altinn's query parameters as an InstanceFilter (the plain
data that app/store/filters.py compiles, the same as GraphQL's `filter`), with the order, the
page size and the continuation token.

A dotted parameter name is the filter's path: `process.currentTask` is
`{"process": {"currentTask": ...}}`.
"""

import re
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
    party_id,
    shown,
    whole_number,
)
from app.store.filters import MAX_TEXT_LENGTH
from app.store.ordering import SortKey

Filter = dict[str, Any]

NEWEST_FIRST = SortKey("lastChanged", descending=True)
OLDEST_FIRST = SortKey("lastChanged", descending=False)
# The Altinn main version the gateway's instances have: it records none, and holds Altinn 3's.
MAIN_VERSION = 3
NOTHING: Filter = {"id": {"in": []}}
_DATE = {"type": "string", "pattern": f"^({'|'.join(DATE_OPERATORS)}):.+$", "examples": ["lte:2020-09-30"]}
_FLAG = {"type": "boolean"}
INSTANCE_OWNER_IDENTIFIER = "X-Ai-InstanceOwnerIdentifier"
OWNER_HEADER = Parameter(
    INSTANCE_OWNER_IDENTIFIER,
    "Whose instances, by number instead of instanceOwner.partyId: Person:<11 digits> or "
    "Organisation:<9 digits> (any case, spaces ignored). A number no stored instance records lists nothing.",
    {"type": "string", "examples": ["Person:01039012345", "Organisation:910000000"]},
)
# Altinn Register's party types, as X-Ai-InstanceOwnerIdentifier names them (any case).
PARTY_TYPES = ("person", "organisation", "selfidentified", "subunit", "bankruptcyestate")
_PERSON_NUMBER = re.compile(r"[0-9]{11}")
_ORGANISATION_NUMBER = re.compile(r"[0-9]{9}")
# Hard-deleted or not: a condition on status.isHardDeleted that holds for every instance, so
# that the store does not leave hard-deleted ones out (app/store/filters.py compile_read_query).
EITHER_DELETION: list[Filter] = [{"status": {"isHardDeleted": True}}, {"status": {"isHardDeleted": False}}]


@dataclass(frozen=True)
class OwnerNumber:
    """A person's or organisation's number, as the instances' `instanceOwner` records it."""

    field: str | None  # personNumber or organisationNumber; None for other party types, which have none
    number: str


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
    "By lastChanged always: newest first when the value starts with desc: (the default, desc:lastChanged), "
    "oldest first otherwise (asc:lastChanged), as Altinn reads it; the instance id breaks ties.",
    {"type": "string", "default": "desc:lastChanged", "examples": ["desc:lastChanged", "asc:lastChanged"]},
)
_VERSION = {"type": "integer", "minimum": 1, "maximum": 3}
MAIN_VERSION_INCLUDE = Parameter(
    "mainVersionInclude",
    "Only instances of this Altinn main version (1, 2 or 3). The gateway's instances are all version 3: "
    "another value finds none.",
    _VERSION,
)
MAIN_VERSION_EXCLUDE = Parameter(
    "mainVersionExclude", "Leave out instances of this Altinn main version: 3 leaves out all.", _VERSION
)
A3_REF = Parameter(
    "A3Ref", "The instance whose GUID ends with this Altinn 3 reference (its last 12 characters).", {"type": "string"}
)
A2_ARCH_REF = Parameter(
    "dataValues.A2ArchRef",
    "Instances whose data value A2ArchRef (a migrated Altinn 2 archive reference) is this; overrides the main "
    "version parameters, as in Altinn.",
    {"type": "string"},
)
SEARCH_STRING = Parameter(
    "searchString",
    "Instances with a presentation text that contains this text, ignoring case. Taken literally: `%` and `_` are "
    "no wildcards, unlike Altinn's. No index serves it: narrow by appId, org or instanceOwner.partyId as well.",
    {"type": "string", "maxLength": MAX_TEXT_LENGTH},
)
INCLUDE_DATA_ELEMENTS = Parameter(
    "includeDataElements", "false: the instances' `data` is empty (true, the default: their data elements).", _FLAG
)
PARAMETERS = (
    *EQUALS,
    *FLAGS,
    *DATES,
    EXCLUDE_CONFIRMED_BY,
    CONFIRMED,
    SIZE,
    CONTINUATION_TOKEN,
    ORDER,
    MAIN_VERSION_INCLUDE,
    MAIN_VERSION_EXCLUDE,
    A3_REF,
    A2_ARCH_REF,
    SEARCH_STRING,
    INCLUDE_DATA_ELEMENTS,
)


@dataclass(frozen=True)
class InstancesQuery:
    instance_filter: Filter
    order: SortKey
    size: int
    continuation_token: str | None
    include_data_elements: bool = True
    owner: OwnerNumber | None = None  # from X-Ai-InstanceOwnerIdentifier


def instances_query(
    given: Mapping[str, list[str]],
    *,
    caller_org: str | None,
    max_size: int,
    default_size: int = DEFAULT_PAGE_SIZE,
    owner_identifier: str | None = None,
    sees_hard_deleted: bool = False,
) -> InstancesQuery:
    """The query that these allow-listed parameters (see `read_query`) ask for; `caller_org` is
    the calling service owner's org (None for an end user); `owner_identifier` is the
    X-Ai-InstanceOwnerIdentifier header; `sees_hard_deleted`: the caller is shown hard-deleted
    instances unless it asks about status.isHardDeleted (Altinn's app owners and sync adapter)."""
    owner = None
    if owner_identifier:
        if "instanceOwner.partyId" in given:
            raise ParameterError(  # Altinn Storage's words
                INSTANCE_OWNER_IDENTIFIER,
                "Both InstanceOwner.PartyId and InstanceOwnerIdentifier cannot be present at the same time.",
            )
        owner = owner_number(owner_identifier)
    instance_filter: Filter = {}
    if sees_hard_deleted and "status.isHardDeleted" not in given:
        instance_filter["or"] = EITHER_DELETION
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
    if SEARCH_STRING.name in given:
        instance_filter["search"] = given[SEARCH_STRING.name][0]
    size = default_size
    if SIZE.name in given:
        size = whole_number(SIZE.name, given[SIZE.name][0], 1, max_size)
    instance_filter |= _references(given)
    # Altinn reads every order not starting with desc: as ascending (InstanceQueryParameters).
    order = OLDEST_FIRST if not given.get(ORDER.name, ["desc:"])[0].lower().startswith("desc:") else NEWEST_FIRST
    token = given.get(CONTINUATION_TOKEN.name, [None])[0]
    include = (
        flag(INCLUDE_DATA_ELEMENTS.name, given[INCLUDE_DATA_ELEMENTS.name][0])
        if INCLUDE_DATA_ELEMENTS.name in given
        else True
    )
    return InstancesQuery(
        instance_filter=instance_filter,
        order=order,
        size=size,
        continuation_token=token,
        include_data_elements=include,
        owner=owner,
    )


def owner_number(identifier: str) -> OwnerNumber:
    """X-Ai-InstanceOwnerIdentifier (Person:<11 digits> or Organisation:<9 digits>) read as
    Altinn reads it: spaces dropped, any case; Altinn's other party types have no number to
    look up, so nothing to list."""
    kind, colon, number = identifier.replace(" ", "").lower().partition(":")
    if not colon or ":" in number or not number or kind not in PARTY_TYPES:
        raise ParameterError(INSTANCE_OWNER_IDENTIFIER, "Invalid InstanceOwnerIdentifier.")  # Altinn's words
    if kind == "person":
        if not _PERSON_NUMBER.fullmatch(number):
            raise ParameterError(INSTANCE_OWNER_IDENTIFIER, "Person number needs to be exactly 11 digits.")
        return OwnerNumber("personNumber", number)
    if kind == "organisation":
        if not _ORGANISATION_NUMBER.fullmatch(number):
            raise ParameterError(INSTANCE_OWNER_IDENTIFIER, "Organization number needs to be exactly 9 digits.")
        return OwnerNumber("organisationNumber", number)
    return OwnerNumber(None, number)


def _references(given: Mapping[str, list[str]]) -> Filter:
    """A3Ref, dataValues.A2ArchRef and the main version, as Altinn's ApplyQueryDefaults sets
    them: a reference decides the version; without one, the version parameters apply."""
    if A3_REF.name in given:
        reference = given[A3_REF.name][0]
        if len(reference) != 12:
            raise ParameterError(
                A3_REF.name,  # Altinn Storage's words, then ours
                f"The A3 reference needs to be exactly 12 characters long. A3Ref has {len(reference)}.",
            )
        return {"id": {"endsWith": reference}}
    if A2_ARCH_REF.name in given:
        # Altinn also narrows to main version 2, which the gateway does not record.
        return {"dataValues": [{"key": "A2ArchRef", "value": {"eq": given[A2_ARCH_REF.name][0]}}]}
    include, exclude = (
        whole_number(p.name, given[p.name][0], 1, 3) if p.name in given else None
        for p in (MAIN_VERSION_INCLUDE, MAIN_VERSION_EXCLUDE)
    )
    if include not in (None, MAIN_VERSION) or exclude == MAIN_VERSION:
        return NOTHING
    return {}


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
