from typing import Any

import strawberry

from app import enums
from app.graphql.enums import graphql_enum
from app.graphql.types.status import ReadStatus
from app.store.groups import Group

InstanceGroupKey = graphql_enum(
    enums.InstanceGroupKey,
    "What instanceGroups counts instances by; each fills the InstanceGroup field of its name.",
    APP_ID="The app, as {org}/{app}.",
    ORG="The app owner's org code.",
    CURRENT_TASK="The current task's element id; null once the process has ended.",
    READ_STATUS="Whether an app user has opened the instance; a missing or odd status counts as UNREAD.",
    IS_ARCHIVED="Archived or not; a missing flag counts as false.",
    IS_SOFT_DELETED="In the recycle bin or not; a missing flag counts as false.",
    IS_HARD_DELETED="Deleted for good or not: counted only when the filter asks about status.isHardDeleted.",
    SUBSTATUS_LABEL="The app owner's substatus label; null when none is set.",
    PARTY_ID="The instance owner's party id.",
    CREATED_MONTH="The month (UTC) the instance was created in, as YYYY-MM.",
    LAST_CHANGED_MONTH="The month (UTC) the instance last changed in, as YYYY-MM.",
)


@strawberry.type(
    description="How many instances have one combination of values of the keys asked for; the fields of "
    "keys not asked for are null, and so is a key's value where it is missing from the instances."
)
class InstanceGroup:
    app_id: str | None = strawberry.field(default=None, description="By APP_ID: the app, as {org}/{app}.")
    org: str | None = strawberry.field(default=None, description="By ORG: the app owner's org code.")
    current_task: str | None = strawberry.field(
        default=None, description="By CURRENT_TASK: the current task's element id; null once the process has ended."
    )
    read_status: ReadStatus | None = strawberry.field(default=None, description="By READ_STATUS.")
    is_archived: bool | None = strawberry.field(default=None, description="By IS_ARCHIVED.")
    is_soft_deleted: bool | None = strawberry.field(default=None, description="By IS_SOFT_DELETED.")
    is_hard_deleted: bool | None = strawberry.field(default=None, description="By IS_HARD_DELETED.")
    substatus_label: str | None = strawberry.field(default=None, description="By SUBSTATUS_LABEL.")
    party_id: str | None = strawberry.field(default=None, description="By PARTY_ID: the owner's party id.")
    created_month: str | None = strawberry.field(default=None, description="By CREATED_MONTH: YYYY-MM, UTC.")
    last_changed_month: str | None = strawberry.field(default=None, description="By LAST_CHANGED_MONTH: YYYY-MM, UTC.")
    count: int = strawberry.field(description="How many instances have these values.")

    @classmethod
    def of(cls, group: Group) -> "InstanceGroup":
        # Each key's field is its name in lower case: APP_ID, app_id.
        fields: dict[str, Any] = {key.name.lower(): value for key, value in group.values.items()}
        if "read_status" in fields:
            fields["read_status"] = ReadStatus(fields["read_status"].value)
        return cls(**fields, count=group.count)
