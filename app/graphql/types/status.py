from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.values import EnumOf, Flag, Nested, Stored, read_document, text, timestamp

MESSAGE_BOX_LABEL_LIMIT = 25
MESSAGE_BOX_LABEL_KEEP = 22


@strawberry.enum(description="Whether an app user has opened the instance.")
class ReadStatus(Enum):
    UNREAD = "Unread"
    READ = "Read"
    UPDATED_SINCE_LAST_REVIEW = "UpdatedSinceLastReview"


def shortened_label(label: str | None) -> str | None:
    """The label as the message box shows it."""
    if label is None or len(label) <= MESSAGE_BOX_LABEL_LIMIT:
        return label
    return label[:MESSAGE_BOX_LABEL_KEEP] + "..."


@strawberry.type(description="Status text for the message box and the receipt, set by the app owner.")
class Substatus:
    label: str | None
    description: str | None

    STORED: ClassVar[Mapping[str, Stored]] = {
        "label": Stored("label", text),
        "description": Stored("description", text),
    }
    from_document = classmethod(read_document)

    @strawberry.field(description="The label as the message box shows it: over 25 characters, the first 22 and '...'.")
    def message_box_label(self) -> str | None:
        return shortened_label(self.label)


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

    STORED: ClassVar[Mapping[str, Stored]] = {
        "is_archived": Stored("isArchived", Flag(False)),
        "is_soft_deleted": Stored("isSoftDeleted", Flag(False)),
        "is_hard_deleted": Stored("isHardDeleted", Flag(False)),
        "archived": Stored("archived", timestamp),
        "soft_deleted": Stored("softDeleted", timestamp),
        "hard_deleted": Stored("hardDeleted", timestamp),
        "read_status": Stored("readStatus", EnumOf(ReadStatus, ReadStatus.UNREAD)),
        "substatus": Stored("substatus", Nested(Substatus)),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="A stakeholder's word that it no longer needs the instance.")
class CompleteConfirmation:
    stakeholder_id: str | None
    confirmed_on: DateTime | None

    STORED: ClassVar[Mapping[str, Stored]] = {
        "stakeholder_id": Stored("stakeholderId", text),
        "confirmed_on": Stored("confirmedOn", timestamp),
    }
    from_document = classmethod(read_document)
