from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.process import ProcessState
from app.values import Always, Nested, Stored, integer, read_document, text, timestamp


@strawberry.type(
    description="Who made a change: an end user, a system user, or a service owner. Unknown parts are null."
)
class PlatformUser:
    user_id: str | None = strawberry.field(description="The Altinn user id of an end user; null for a service owner.")
    org_id: str | None = strawberry.field(description="The org code of a service owner, e.g. ttd; null for a user.")
    authentication_level: int | None = strawberry.field(
        description="How strongly the caller had logged in, 0 to 4 (the token's urn:altinn:authlevel)."
    )
    end_user_system_id: str | None = strawberry.field(
        description="The id of the end-user system that acted for the user, if one did."
    )
    national_identity_number: str | None = strawberry.field(
        description="The acting person's national identity number, when recorded."
    )
    system_user_id: str | None = strawberry.field(description="The id of the system user that acted, if one did.")
    system_user_owner_org_no: str | None = strawberry.field(
        description="The organisation number of the organisation that owns that system user."
    )
    system_user_name: str | None = strawberry.field(description="The name of that system user.")

    STORED: ClassVar[Mapping[str, Stored]] = {
        "user_id": Stored("userId", text),
        "org_id": Stored("orgId", text),
        "authentication_level": Stored("authenticationLevel", integer),
        "end_user_system_id": Stored("endUserSystemId", text),
        "national_identity_number": Stored("nationalIdentityNumber", text),
        "system_user_id": Stored("systemUserId", text),
        "system_user_owner_org_no": Stored("systemUserOwnerOrgNo", text),
        "system_user_name": Stored("systemUserName", text),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="One change of an instance, as the audit trail records it.")
class InstanceEvent:
    id: str | None = strawberry.field(description="The event's guid.")
    instance_id: str | None = strawberry.field(description="The instance it is about, {partyId}/{instanceGuid}.")
    data_id: str | None = strawberry.field(
        description="The data element it is about, if any; null for instance events."
    )
    created: DateTime | None = strawberry.field(description="When the change was made.")
    event_type: str | None = strawberry.field(
        description="Created, Deleted, Undeleted, ConfirmedComplete, SubstatusUpdated, MessageRead, ..."
    )
    instance_owner_party_id: str | None = strawberry.field(description="The party id of the instance's owner.")
    user: PlatformUser = strawberry.field(description="Who made the change.")
    process_info: ProcessState | None = strawberry.field(description="The process state when the change was made.")
    additional_info: str | None = strawberry.field(description="Free text recorded with the event; usually null.")

    STORED: ClassVar[Mapping[str, Stored]] = {
        "id": Stored("id", text),
        "instance_id": Stored("instanceId", text),
        "data_id": Stored("dataId", text),
        "created": Stored("created", timestamp),
        "event_type": Stored("eventType", text),
        "instance_owner_party_id": Stored("instanceOwnerPartyId", text),
        "user": Stored("user", Always(PlatformUser)),
        "process_info": Stored("processInfo", Nested(ProcessState)),
        "additional_info": Stored("additionalInfo", text),
    }
    from_document = classmethod(read_document)
