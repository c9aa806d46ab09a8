from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app import enums
from app.graphql.enums import graphql_enum
from app.graphql.scalars import DateTime
from app.values import EnumOf, Flag, Nested, Stored, read_document, text, timestamp

MESSAGE_BOX_LABEL_LIMIT = 25
MESSAGE_BOX_LABEL_KEEP = 22


ReadStatus = graphql_enum(
    enums.ReadStatus,
    "Whether an app user has opened the instance.",
    UNREAD="Not opened yet; also what a missing status reads as.",
    READ="Opened, and not changed since.",
    UPDATED_SINCE_LAST_REVIEW="Opened, then changed since.",
)


def shortened_label(label: str | None) -> str | None:
    """The label as the message box shows it."""
    if label is None or len(label) <= MESSAGE_BOX_LABEL_LIMIT:
        return label
    return label[:MESSAGE_BOX_LABEL_KEEP] + "..."


@strawberry.type(description="Status text for the message box and the receipt, set by the app owner.")
class Substatus:
    label: str | None = strawberry.field(
        description="A short status text, e.g. In review; the message box shows at most 25 characters of it."
    )
    description: str | None = strawberry.field(
        description="A longer explanation, shown with the receipt; null when none."
    )

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
    is_archived: bool = strawberry.field(
        description="true once the process has ended: the instance is in the app user's archive."
    )
    is_soft_deleted: bool = strawberry.field(
        description="true while in the recycle bin (restoreInstance takes it out); a hard-deleted one is too."
    )
    is_hard_deleted: bool = strawberry.field(
        description="true once deleted for good: hidden from app users, and purged from the database later."
    )
    archived: DateTime | None = strawberry.field(description="When the instance was archived; null if it is not.")
    soft_deleted: DateTime | None = strawberry.field(
        description="When the instance went into the recycle bin; null if it is not there."
    )
    hard_deleted: DateTime | None = strawberry.field(
        description="When the instance was deleted for good; null if it is not."
    )
    read_status: ReadStatus = strawberry.field(
        description="Whether an app user has opened the instance since it last changed."
    )
    substatus: Substatus | None = strawberry.field(description="The app owner's status text; null when none is set.")

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
    stakeholder_id: str | None = strawberry.field(
        description="The org code of the stakeholder that confirmed, e.g. ttd."
    )
    confirmed_on: DateTime | None = strawberry.field(description="When it confirmed.")

    STORED: ClassVar[Mapping[str, Stored]] = {
        "stakeholder_id": Stored("stakeholderId", text),
        "confirmed_on": Stored("confirmedOn", timestamp),
    }
    from_document = classmethod(read_document)
