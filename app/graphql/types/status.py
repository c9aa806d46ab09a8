from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.values import enum_member, flag, nested, text, timestamp

MESSAGE_BOX_LABEL_LIMIT = 25
MESSAGE_BOX_LABEL_KEEP = 22


@strawberry.enum(description="Whether an app user has opened the instance.")
class ReadStatus(Enum):
    UNREAD = "Unread"
    READ = "Read"
    UPDATED_SINCE_LAST_REVIEW = "UpdatedSinceLastReview"


@strawberry.type(description="Status text for the message box and the receipt, set by the app owner.")
class Substatus:
    label: str | None
    description: str | None

    @strawberry.field(description="The label as the message box shows it: over 25 characters, the first 22 and '...'.")
    def message_box_label(self) -> str | None:
        if self.label is None or len(self.label) <= MESSAGE_BOX_LABEL_LIMIT:
            return self.label
        return self.label[:MESSAGE_BOX_LABEL_KEEP] + "..."

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Substatus":
        return cls(label=text(doc.get("label")), description=text(doc.get("description")))


@strawberry.type(description="A summary of the instance's state; absent in old documents, then all false.")
class InstanceStatus:
    is_archived: bool
    is_soft_deleted: bool
    is_hard_deleted: bool
    archived: DateTime | None
    soft_deleted: DateTime | None
    hard_deleted: DateTime | None
    read_status: ReadStatus
    substatus: Substatus | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "InstanceStatus":
        return cls(
            is_archived=flag(doc.get("isArchived"), False),
            is_soft_deleted=flag(doc.get("isSoftDeleted"), False),
            is_hard_deleted=flag(doc.get("isHardDeleted"), False),
            archived=timestamp(doc.get("archived")),
            soft_deleted=timestamp(doc.get("softDeleted")),
            hard_deleted=timestamp(doc.get("hardDeleted")),
            read_status=enum_member(ReadStatus, doc.get("readStatus"), ReadStatus.UNREAD),
            substatus=nested(doc.get("substatus"), Substatus.from_document),
        )


@strawberry.type(description="A stakeholder's word that it no longer needs the instance.")
class CompleteConfirmation:
    stakeholder_id: str | None
    confirmed_on: DateTime | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "CompleteConfirmation":
        return cls(
            stakeholder_id=text(doc.get("stakeholderId")),
            confirmed_on=timestamp(doc.get("confirmedOn")),
        )
