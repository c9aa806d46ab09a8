"""Filter and order inputs, and their conversion to the plain data the store compiles."""

from enum import Enum
from typing import Any

import strawberry
from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

from app.graphql.scalars import DateTime
from app.graphql.types.data_element import FileScanResult
from app.graphql.types.status import ReadStatus
from app.store.filters import MAX_NESTING, MAX_TEXT_LENGTH

_TEXT_BOUND = f"Each text is at most {MAX_TEXT_LENGTH} characters; a longer one is BAD_USER_INPUT."
_LIST_BOUND = "At most GATEWAY_MAX_FILTER_LIST (1000) values."


def _input(description: str) -> Any:
    """An optional input field: left out, or null, it asks nothing."""
    return strawberry.field(default=strawberry.UNSET, description=description)


@strawberry.input(
    description="Conditions on a text field; all given conditions must hold. A null and a missing value are "
    f"the same. Comparisons are exact and case-sensitive. {_TEXT_BOUND}"
)
class StringFilter:
    eq: str | None = _input("Equal to this text.")
    ne: str | None = _input("Not equal to this text; also matches a null value.")
    in_: list[str] | None = strawberry.field(
        default=strawberry.UNSET, name="in", description=f"Equal to one of these texts. {_LIST_BOUND}"
    )
    nin: list[str] | None = _input(f"Equal to none of these texts; also matches a null value. {_LIST_BOUND}")
    starts_with: str | None = _input("Begins with this text, taken literally (no wildcards).")
    exists: bool | None = _input("true: not null; false: null or missing.")


@strawberry.input(
    description="Conditions on a date-time field; all given conditions must hold, so gte and lt make a range. "
    "A date alone is midnight UTC, the start of that day."
)
class DateTimeFilter:
    eq: DateTime | None = _input("At this instant, to the millisecond.")
    gt: DateTime | None = _input("After this instant.")
    gte: DateTime | None = _input("At or after this instant.")
    lt: DateTime | None = _input("Before this instant.")
    lte: DateTime | None = _input(
        "At or before this instant. A date alone is the start of that day: lte 2020-09-30 leaves out the rest "
        "of 30 September; lt 2020-10-01 takes all of it."
    )
    exists: bool | None = _input("true: set; false: null or missing.")


@strawberry.input(description="Conditions on a whole number; all given conditions must hold.")
class IntFilter:
    eq: int | None = _input("Equal to this number.")
    ne: int | None = _input("Not equal to this number; also matches a null value.")
    gt: int | None = _input("Greater than this number.")
    gte: int | None = _input("Greater than or equal to this number.")
    lt: int | None = _input("Less than this number.")
    lte: int | None = _input("Less than or equal to this number.")


@strawberry.input(description="Conditions on who owns the instance.")
class InstanceOwnerFilter:
    party_id: StringFilter | None = _input("The owner's party id in Altinn's register, e.g. 50001337.")
    person_number: StringFilter | None = _input("The owner's national identity number (11 digits), for a person.")
    organisation_number: StringFilter | None = _input(
        "The owner's organisation number (9 digits), for an organisation."
    )


@strawberry.input(description="Conditions on where the instance is in its app's process.")
class ProcessFilter:
    current_task: StringFilter | None = _input(
        "The current task's elementId, e.g. Task_1; null once the process ended."
    )
    altinn_task_type: StringFilter | None = _input(
        "The current task's type: data, confirmation, signing, payment or feedback."
    )
    is_complete: bool | None = _input("true: the process has ended; false: a task is current.")
    started: DateTimeFilter | None = _input("When the process started.")
    ended: DateTimeFilter | None = _input("When the process ended; null while a task is current.")
    end_event: StringFilter | None = _input("The end event the process ended in, e.g. EndEvent_1.")


@strawberry.input(
    description="Conditions on the instance's status. A document without a status reads as all flags false and UNREAD."
)
class InstanceStatusFilter:
    is_archived: bool | None = _input("true: the process has ended and the instance is in the app user's archive.")
    is_soft_deleted: bool | None = _input("true: in the recycle bin; a hard-deleted instance is soft-deleted too.")
    is_hard_deleted: bool | None = _input(
        "true: deleted for good, awaiting the purge. Hard-deleted instances are left out unless this is given."
    )
    read_status: list[ReadStatus] | None = _input(f"Any of these; UNREAD also matches a missing one. {_LIST_BOUND}")
    substatus_label: StringFilter | None = _input("The substatus label as the app owner set it, not shortened.")


@strawberry.input(description="Conditions that one and the same data element must all meet.")
class DataElementFilter:
    id: StringFilter | None = _input("The data element's guid.")
    data_type: StringFilter | None = _input(
        "Its data type, as the app's metadata names it, e.g. default or ref-data-as-pdf."
    )
    content_type: StringFilter | None = _input("Its MIME type, e.g. application/pdf.")
    filename: StringFilter | None = _input("Its file name as uploaded.")
    size: IntFilter | None = _input("Its size in bytes.")
    locked: bool | None = _input("true: it can no longer change. Missing reads as false.")
    is_read: bool | None = _input("false: not yet opened by an app user. Missing reads as true.")
    tags: StringFilter | None = _input("eq: has this tag; exists: has any tag.")
    file_scan_result: list[FileScanResult] | None = _input(
        f"Any of these malware scan results; NOT_APPLICABLE also matches a missing one. {_LIST_BOUND}"
    )
    created: DateTimeFilter | None = _input("When it was created.")
    last_changed: DateTimeFilter | None = _input("When it last changed.")


@strawberry.input(
    description="A condition on one entry of an object of texts (presentationTexts, dataValues), found by its key."
)
class KeyValueFilter:
    key: str = strawberry.field(
        description=f"The entry's key exactly as the app wrote it; any text, `.` and `$` included. {_TEXT_BOUND}"
    )
    value: StringFilter | None = _input(
        "Conditions on the entry's text, which is null when the key is absent or its value is not a text. "
        "Left out: the key has a text."
    )


@strawberry.input(
    description="Conditions on instances; all given conditions must hold. A null and a missing value are the same."
)
class InstanceFilter:
    app_id: StringFilter | None = _input("The app, as {org}/{app}, e.g. ttd/skjema-a.")
    org: StringFilter | None = _input("The app owner's org code, lower case, e.g. ttd.")
    instance_owner: InstanceOwnerFilter | None = _input("Who owns the instance.")
    created: DateTimeFilter | None = _input("When the instance was created.")
    last_changed: DateTimeFilter | None = _input("When the instance last changed.")
    due_before: DateTimeFilter | None = _input("The deadline the app owner set.")
    visible_after: DateTimeFilter | None = _input("When the instance becomes visible to app users.")
    created_by: StringFilter | None = _input("Who created the instance: a user id, or an org number.")
    last_changed_by: StringFilter | None = _input("Who last changed the instance: a user id, or an org number.")
    process: ProcessFilter | None = _input("Where the instance is in its process.")
    status: InstanceStatusFilter | None = _input("Archived, deleted and read flags, and the substatus.")
    data: DataElementFilter | None = _input("Some data element matches all of it.")
    search: str | None = _input(
        "Instances with a presentation text that contains this text, ignoring case: Altinn's searchString. "
        "Taken literally (`%`, `_` and `*` are no wildcards); an empty text is BAD_USER_INPUT. "
        f"{_TEXT_BOUND} No index serves it: narrow by appId, org or instanceOwner as well."
    )
    presentation_texts: list[KeyValueFilter] | None = _input(
        f"Every one of these holds for the instance's presentationTexts. {_LIST_BOUND}"
    )
    data_values: list[KeyValueFilter] | None = _input(
        f"Every one of these holds for the instance's dataValues. {_LIST_BOUND}"
    )
    exclude_confirmed_by: str | None = _input(
        "Leave out instances this stakeholder (an org code, e.g. ttd) has confirmed complete. "
        f"At most {MAX_TEXT_LENGTH} characters."
    )
    and_: list["InstanceFilter"] | None = strawberry.field(
        default=strawberry.UNSET,
        name="and",
        description=f"Every one of these holds. {_LIST_BOUND} and/or/not nest at most {MAX_NESTING} levels deep.",
    )
    or_: list["InstanceFilter"] | None = strawberry.field(
        default=strawberry.UNSET,
        name="or",
        description=f"At least one of these holds; an empty list matches nothing. {_LIST_BOUND}",
    )
    not_: "InstanceFilter | None" = strawberry.field(
        default=strawberry.UNSET, name="not", description="This filter does not hold."
    )


@strawberry.enum(description="A date-time of the instance to sort by.")
class InstanceSortField(Enum):
    LAST_CHANGED = strawberry.enum_value("lastChanged", description="When it last changed; the default order.")
    CREATED = strawberry.enum_value("created", description="When it was created.")
    DUE_BEFORE = strawberry.enum_value("dueBefore", description="The deadline the app owner set; often missing.")
    VISIBLE_AFTER = strawberry.enum_value("visibleAfter", description="When it becomes visible to app users.")


@strawberry.enum(description="Which way a sort key runs; a missing date counts as earlier than every date.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("asc", description="Earliest first, missing dates before all.")
    DESC = strawberry.enum_value("desc", description="Latest first, missing dates after all.")


@strawberry.input(description="One sort key; id always breaks ties, in the direction of the last key.")
class InstanceOrder:
    field: InstanceSortField = strawberry.field(description="The date-time to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.DESC, description="Newest first by default.")


def plain_data(value: Any) -> Any:
    """An input object (or a variable's value as GraphQL coerced it) as plain data keyed by
    GraphQL names, enums as their stored strings and unset or null fields left out."""
    if value is None or value is strawberry.UNSET:
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [plain_data(v) for v in value]
    if isinstance(value, dict):
        items = {name: plain_data(item) for name, item in value.items()}
        return {name: item for name, item in items.items() if item is not None}
    if has_object_definition(value):
        plain = {}
        for field in value.__strawberry_definition__.fields:
            item = plain_data(getattr(value, field.python_name))
            if item is not None:
                plain[field.graphql_name or to_camel_case(field.python_name)] = item
        return plain
    return value
