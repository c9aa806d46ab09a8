from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import strawberry

from app.authorization.access import check_audit_trail
from app.graphql.info import Info
from app.graphql.inputs import DataElementFilter, plain_data
from app.graphql.scalars import DateTime
from app.graphql.types.common import KeyValue, ResourceLinks
from app.graphql.types.data_element import DataElement
from app.graphql.types.event import InstanceEvent
from app.graphql.types.node import Node
from app.graphql.types.process import ProcessState
from app.graphql.types.status import CompleteConfirmation, InstanceStatus
from app.store.elements import matching_elements
from app.values import (
    Always,
    Each,
    Entries,
    Nested,
    Stored,
    read_document,
    required_text,
    text,
    timestamp,
)

InstanceId = Annotated[
    strawberry.ID, strawberry.argument(description="The instance's id, {instanceOwner.partyId}/{instanceGuid}.")
]


def stored_elements(value: Any) -> list[Mapping[str, Any]]:
    """The data elements of an instance: the objects in its `data`."""
    return [e for e in value or [] if isinstance(e, dict)]


def guid_of(instance_id: str) -> str:
    return instance_id.rpartition("/")[2]


@strawberry.type(description="Who the instance belongs to.")
class InstanceOwner:
    party_id: str | None = strawberry.field(description="The owner's party id in Altinn's register, e.g. 50001337.")
    person_number: str | None = strawberry.field(
        description="The national identity number (11 digits) of an owner who is a person."
    )
    organisation_number: str | None = strawberry.field(
        description="The organisation number (9 digits) of an owner that is an organisation."
    )
    username: str | None = strawberry.field(description="The username of an owner who is a self-identified user.")
    external_identifier: str | None = strawberry.field(
        description="An identifier of the owner from outside Altinn's register, if any."
    )

    STORED: ClassVar[Mapping[str, Stored]] = {
        "party_id": Stored("partyId", text),
        "person_number": Stored("personNumber", text),
        "organisation_number": Stored("organisationNumber", text),
        "username": Stored("username", text),
        "external_identifier": Stored("externalIdentifier", text),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="One interaction between an app user and an app owner.")
class Instance(Node):
    id: strawberry.ID = strawberry.field(description="The instance's id, {instanceOwner.partyId}/{instanceGuid}.")
    instance_owner: InstanceOwner = strawberry.field(
        description="Who the instance belongs to: the party it was created for."
    )
    app_id: str = strawberry.field(description="The app, as {org}/{app}, e.g. ttd/skjema-a.")
    org: str = strawberry.field(description="The app owner's org code, lower case, e.g. ttd.")
    self_links: ResourceLinks | None = strawberry.field(
        description="Where to fetch the instance from the app's API or Storage."
    )
    due_before: DateTime | None = strawberry.field(
        description="The deadline the app owner set for the app user; null when none."
    )
    visible_after: DateTime | None = strawberry.field(
        description="Hidden from app users until then; null: visible at once."
    )
    process: ProcessState | None = strawberry.field(
        description="Where the instance is in its app's process; null before it has started."
    )
    status: InstanceStatus = strawberry.field(description="Archived, deleted and read flags, and the substatus.")
    complete_confirmations: list[CompleteConfirmation] = strawberry.field(
        description="The stakeholders that have confirmed they no longer need the instance."
    )
    presentation_texts: list[KeyValue] = strawberry.field(
        description="Texts the app chose to show with the instance in the message box, e.g. a title."
    )
    data_values: list[KeyValue] = strawberry.field(
        description="Values the app stored on the instance for searches and for its own use."
    )
    created: DateTime | None = strawberry.field(description="When the instance was created.")
    created_by: str | None = strawberry.field(description="Who created it: a user id, or an org number.")
    last_changed: DateTime | None = strawberry.field(
        description="When the instance last changed; read status changes leave it."
    )
    last_changed_by: str | None = strawberry.field(description="Who last changed it: a user id, or an org number.")
    stored_data: strawberry.Private[list[Mapping[str, Any]]]

    STORED: ClassVar[Mapping[str, Stored]] = {
        "id": Stored("id", str, missing=""),
        "instance_owner": Stored("instanceOwner", Always(InstanceOwner)),
        "app_id": Stored("appId", required_text),
        "org": Stored("org", required_text),
        "self_links": Stored("selfLinks", Nested(ResourceLinks)),
        "due_before": Stored("dueBefore", timestamp),
        "visible_after": Stored("visibleAfter", timestamp),
        "process": Stored("process", Nested(ProcessState)),
        "status": Stored("status", Always(InstanceStatus)),
        "complete_confirmations": Stored("completeConfirmations", Each(CompleteConfirmation)),
        "presentation_texts": Stored("presentationTexts", Entries(KeyValue)),
        "data_values": Stored("dataValues", Entries(KeyValue)),
        "created": Stored("created", timestamp),
        "created_by": Stored("createdBy", text),
        "last_changed": Stored("lastChanged", timestamp),
        "last_changed_by": Stored("lastChangedBy", text),
        "stored_data": Stored("data", stored_elements),
    }
    from_document = classmethod(read_document)

    @strawberry.field(description="The instance's own id, the part of `id` after the '/'.")
    def instance_guid(self) -> str:
        return guid_of(self.id)

    @strawberry.field(description="Data elements in stored order, those matching `filter` if given.")
    async def data(
        self,
        info: Info,
        filter: Annotated[
            DataElementFilter | None,
            strawberry.argument(description="Only the data elements that meet all of it."),
        ] = strawberry.UNSET,
    ) -> list[DataElement]:
        access = await info.context.access()
        element_filter = access.element_filter(plain_data(filter))
        elements = matching_elements(self.stored_data, element_filter) if element_filter else self.stored_data
        return [DataElement.from_document(e) for e in elements]

    @strawberry.field(
        description="The audit trail, oldest first; the app owner's only: null, with FORBIDDEN, for anyone else."
    )
    async def events(self, info: Info) -> list[InstanceEvent] | None:
        check_audit_trail(info.context.caller, instance_id=self.id, org=self.org)
        return [InstanceEvent.from_document(e) for e in await info.context.events.load(str(self.id))]
