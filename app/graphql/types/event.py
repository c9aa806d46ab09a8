from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.process import ProcessState
from app.graphql.types.values import Always, Nested, Stored, integer, read_document, text, timestamp


@strawberry.type(description="Who made a change.")
class PlatformUser:
    user_id: str | None
    org_id: str | None
    authentication_level: int | None
    end_user_system_id: str | None
    national_identity_number: str | None
    system_user_id: str | None
    system_user_owner_org_no: str | None
    system_user_name: str | None

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
    id: str | None
    instance_id: str | None
    data_id: str | None
    created: DateTime | None
    event_type: str | None = strawberry.field(
        description="Created, Deleted, Undeleted, ConfirmedComplete, SubstatusUpdated, MessageRead, ..."
    )
    instance_owner_party_id: str | None
    user: PlatformUser
    process_info: ProcessState | None = strawberry.field(description="The process state when the change was made.")
    additional_info: str | None

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
