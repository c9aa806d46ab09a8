from collections.abc import Mapping
from typing import Any

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.process import ProcessState
from app.graphql.types.values import integer, mapping, nested, text, timestamp


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

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "PlatformUser":
        return cls(
            user_id=text(doc.get("userId")),
            org_id=text(doc.get("orgId")),
            authentication_level=integer(doc.get("authenticationLevel")),
            end_user_system_id=text(doc.get("endUserSystemId")),
            national_identity_number=text(doc.get("nationalIdentityNumber")),
            system_user_id=text(doc.get("systemUserId")),
            system_user_owner_org_no=text(doc.get("systemUserOwnerOrgNo")),
            system_user_name=text(doc.get("systemUserName")),
        )


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

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "InstanceEvent":
        return cls(
            id=text(doc.get("id")),
            instance_id=text(doc.get("instanceId")),
            data_id=text(doc.get("dataId")),
            created=timestamp(doc.get("created")),
            event_type=text(doc.get("eventType")),
            instance_owner_party_id=text(doc.get("instanceOwnerPartyId")),
            user=PlatformUser.from_document(mapping(doc.get("user"))),
            process_info=nested(doc.get("processInfo"), ProcessState.from_document),
            additional_info=text(doc.get("additionalInfo")),
        )
