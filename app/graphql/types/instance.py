from collections.abc import Mapping
from typing import Any

import strawberry

from app.errors import Forbidden
from app.graphql.context import Info
from app.graphql.inputs import DataElementFilter, plain_data
from app.graphql.scalars import DateTime
from app.graphql.types.common import KeyValue, ResourceLinks
from app.graphql.types.data_element import DataElement
from app.graphql.types.event import InstanceEvent
from app.graphql.types.process import ProcessState
from app.graphql.types.status import CompleteConfirmation, InstanceStatus
from app.graphql.types.values import each, mapping, nested, text, timestamp
from app.store.elements import matching_elements


@strawberry.type(description="Who the instance belongs to.")
class InstanceOwner:
    party_id: str | None
    person_number: str | None
    organisation_number: str | None
    username: str | None
    external_identifier: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "InstanceOwner":
        return cls(
            party_id=text(doc.get("partyId")),
            person_number=text(doc.get("personNumber")),
            organisation_number=text(doc.get("organisationNumber")),
            username=text(doc.get("username")),
            external_identifier=text(doc.get("externalIdentifier")),
        )


@strawberry.type(description="One interaction between an app user and an app owner.")
class Instance:
    id: strawberry.ID = strawberry.field(description="{instanceOwner.partyId}/{instanceGuid}")
    instance_owner: InstanceOwner
    app_id: str = strawberry.field(description="{org}/{app}")
    org: str
    self_links: ResourceLinks | None
    due_before: DateTime | None
    visible_after: DateTime | None = strawberry.field(description="Hidden from app users until then.")
    process: ProcessState | None
    status: InstanceStatus
    complete_confirmations: list[CompleteConfirmation]
    presentation_texts: list[KeyValue]
    data_values: list[KeyValue]
    created: DateTime | None
    created_by: str | None
    last_changed: DateTime | None
    last_changed_by: str | None = strawberry.field(description="A user id, or an org number.")
    stored_data: strawberry.Private[list[Mapping[str, Any]]]

    @strawberry.field(description="The instance's own id, the part of `id` after the '/'.")
    def instance_guid(self) -> str:
        return self.id.rpartition("/")[2]

    @strawberry.field(description="Data elements in stored order, those matching `filter` if given.")
    async def data(self, info: Info, filter: DataElementFilter | None = strawberry.UNSET) -> list[DataElement]:
        access = await info.context.access()
        element_filter = access.element_filter(plain_data(filter))
        elements = matching_elements(self.stored_data, element_filter) if element_filter else self.stored_data
        return [DataElement.from_document(e) for e in elements]

    @strawberry.field(
        description="The audit trail, oldest first; the app owner's only: null, with FORBIDDEN, for anyone else."
    )
    async def events(self, info: Info) -> list[InstanceEvent] | None:
        caller = info.context.caller
        if not caller.is_service_owner or caller.org != self.org.lower():
            raise Forbidden(f"the audit trail of {self.id} is shown to its app owner {self.org} only")
        return [InstanceEvent.from_document(e) for e in await info.context.events.load(str(self.id))]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Instance":
        return cls(
            id=strawberry.ID(str(doc.get("id", ""))),
            instance_owner=InstanceOwner.from_document(mapping(doc.get("instanceOwner"))),
            app_id=text(doc.get("appId")) or "",
            org=text(doc.get("org")) or "",
            self_links=nested(doc.get("selfLinks"), ResourceLinks.from_document),
            due_before=timestamp(doc.get("dueBefore")),
            visible_after=timestamp(doc.get("visibleAfter")),
            process=nested(doc.get("process"), ProcessState.from_document),
            status=InstanceStatus.from_document(mapping(doc.get("status"))),
            complete_confirmations=each(doc.get("completeConfirmations"), CompleteConfirmation.from_document),
            presentation_texts=KeyValue.from_dict(doc.get("presentationTexts")),
            data_values=KeyValue.from_dict(doc.get("dataValues")),
            created=timestamp(doc.get("created")),
            created_by=text(doc.get("createdBy")),
            last_changed=timestamp(doc.get("lastChanged")),
            last_changed_by=text(doc.get("lastChangedBy")),
            stored_data=[e for e in doc.get("data") or [] if isinstance(e, dict)],
        )
