"""Filter and order inputs, and their conversion to the plain data the store compiles."""

from enum import Enum
from typing import Any

import strawberry
from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

from app.graphql.scalars import DateTime
from app.graphql.types.data_element import FileScanResult
from app.graphql.types.status import ReadStatus


@strawberry.input(
    description="Conditions on a text field; all given conditions must hold. A null and a missing value are the same."
)
class StringFilter:
    eq: str | None = strawberry.UNSET
    ne: str | None = strawberry.field(default=strawberry.UNSET, description="Also matches a null value.")
    in_: list[str] | None = strawberry.field(default=strawberry.UNSET, name="in")
    nin: list[str] | None = strawberry.UNSET
    starts_with: str | None = strawberry.UNSET
    exists: bool | None = strawberry.field(
        default=strawberry.UNSET, description="true: not null; false: null or missing."
    )


@strawberry.input(description="Conditions on a date-time field; combine gte and lt for a range.")
class DateTimeFilter:
    eq: DateTime | None = strawberry.UNSET
    gt: DateTime | None = strawberry.UNSET
    gte: DateTime | None = strawberry.UNSET
    lt: DateTime | None = strawberry.UNSET
    lte: DateTime | None = strawberry.UNSET
    exists: bool | None = strawberry.UNSET


@strawberry.input
class IntFilter:
    eq: int | None = strawberry.UNSET
    ne: int | None = strawberry.UNSET
    gt: int | None = strawberry.UNSET
    gte: int | None = strawberry.UNSET
    lt: int | None = strawberry.UNSET
    lte: int | None = strawberry.UNSET


@strawberry.input
class InstanceOwnerFilter:
    party_id: StringFilter | None = strawberry.UNSET
    person_number: StringFilter | None = strawberry.UNSET
    organisation_number: StringFilter | None = strawberry.UNSET


@strawberry.input
class ProcessFilter:
    current_task: StringFilter | None = strawberry.field(
        default=strawberry.UNSET, description="The current task's elementId."
    )
    altinn_task_type: StringFilter | None = strawberry.UNSET
    is_complete: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true: the process has ended; false: a task is current.",
    )
    started: DateTimeFilter | None = strawberry.UNSET
    ended: DateTimeFilter | None = strawberry.UNSET
    end_event: StringFilter | None = strawberry.UNSET


@strawberry.input
class InstanceStatusFilter:
    is_archived: bool | None = strawberry.UNSET
    is_soft_deleted: bool | None = strawberry.UNSET
    is_hard_deleted: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Hard-deleted instances are left out unless this is given.",
    )
    read_status: list[ReadStatus] | None = strawberry.UNSET
    substatus_label: StringFilter | None = strawberry.UNSET


@strawberry.input(description="Conditions that one and the same data element must all meet.")
class DataElementFilter:
    id: StringFilter | None = strawberry.UNSET
    data_type: StringFilter | None = strawberry.UNSET
    content_type: StringFilter | None = strawberry.UNSET
    filename: StringFilter | None = strawberry.UNSET
    size: IntFilter | None = strawberry.UNSET
    locked: bool | None = strawberry.UNSET
    is_read: bool | None = strawberry.UNSET
    tags: StringFilter | None = strawberry.field(
        default=strawberry.UNSET, description="eq: has this tag; exists: has any tag."
    )
    file_scan_result: list[FileScanResult] | None = strawberry.UNSET
    created: DateTimeFilter | None = strawberry.UNSET
    last_changed: DateTimeFilter | None = strawberry.UNSET


@strawberry.input(description="Conditions on instances; all given conditions must hold.")
class InstanceFilter:
    app_id: StringFilter | None = strawberry.UNSET
    org: StringFilter | None = strawberry.UNSET
    instance_owner: InstanceOwnerFilter | None = strawberry.UNSET
    created: DateTimeFilter | None = strawberry.UNSET
    last_changed: DateTimeFilter | None = strawberry.UNSET
    due_before: DateTimeFilter | None = strawberry.UNSET
    visible_after: DateTimeFilter | None = strawberry.UNSET
    created_by: StringFilter | None = strawberry.UNSET
    last_changed_by: StringFilter | None = strawberry.UNSET
    process: ProcessFilter | None = strawberry.UNSET
    status: InstanceStatusFilter | None = strawberry.UNSET
    data: DataElementFilter | None = strawberry.field(
        default=strawberry.UNSET, description="Some data element matches all of it."
    )
    exclude_confirmed_by: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Leave out instances this stakeholder has confirmed complete.",
    )
    and_: list["InstanceFilter"] | None = strawberry.field(default=strawberry.UNSET, name="and")
    or_: list["InstanceFilter"] | None = strawberry.field(default=strawberry.UNSET, name="or")
    not_: "InstanceFilter | None" = strawberry.field(default=strawberry.UNSET, name="not")


@strawberry.enum
class InstanceSortField(Enum):
    LAST_CHANGED = "lastChanged"
    CREATED = "created"
    DUE_BEFORE = "dueBefore"
    VISIBLE_AFTER = "visibleAfter"


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="One sort key; id always breaks ties.")
class InstanceOrder:
    field: InstanceSortField
    direction: SortDirection = SortDirection.DESC


def plain_data(value: Any) -> Any:
    """An input object as plain data keyed by GraphQL names, enums as their stored strings
    and unset or null fields left out."""
    if value is None or value is strawberry.UNSET:
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [plain_data(v) for v in value]
    if has_object_definition(value):
        plain = {}
        for field in value.__strawberry_definition__.fields:
            item = plain_data(getattr(value, field.python_name))
            if item is not None:
                plain[field.graphql_name or to_camel_case(field.python_name)] = item
        return plain
    return value
