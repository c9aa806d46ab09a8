from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.common import KeyValue, ResourceLinks
from app.graphql.types.values import (
    each,
    enum_member,
    flag,
    integer,
    nested,
    text,
    texts,
    timestamp,
)


@strawberry.enum(description="The result of the malware scan of a data element.")
class FileScanResult(Enum):
    NOT_APPLICABLE = "NotApplicable"
    PENDING = "Pending"
    CLEAN = "Clean"
    INFECTED = "Infected"


@strawberry.type
class DeleteStatus:
    is_hard_deleted: bool
    hard_deleted: DateTime | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "DeleteStatus":
        return cls(
            is_hard_deleted=flag(doc.get("isHardDeleted"), False),
            hard_deleted=timestamp(doc.get("hardDeleted")),
        )


@strawberry.type(description="A typed reference from a data element to something else.")
class Reference:
    value: str | None
    relation: str | None
    value_type: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Reference":
        return cls(
            value=text(doc.get("value")),
            relation=text(doc.get("relation")),
            value_type=text(doc.get("valueType")),
        )


@strawberry.type(description="A form, attachment or other data file of an instance.")
class DataElement:
    id: str | None
    instance_guid: str | None
    data_type: str | None
    filename: str | None
    content_type: str | None
    blob_storage_path: str | None
    self_links: ResourceLinks | None
    size: int | None
    content_hash: str | None
    locked: bool
    refs: list[str]
    is_read: bool
    tags: list[str]
    user_defined_metadata: list[KeyValue]
    metadata: list[KeyValue]
    delete_status: DeleteStatus | None
    file_scan_result: FileScanResult
    references: list[Reference]
    created: DateTime | None
    created_by: str | None
    last_changed: DateTime | None
    last_changed_by: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "DataElement":
        return cls(
            id=text(doc.get("id")),
            instance_guid=text(doc.get("instanceGuid")),
            data_type=text(doc.get("dataType")),
            filename=text(doc.get("filename")),
            content_type=text(doc.get("contentType")),
            blob_storage_path=text(doc.get("blobStoragePath")),
            self_links=nested(doc.get("selfLinks"), ResourceLinks.from_document),
            size=integer(doc.get("size")),
            content_hash=text(doc.get("contentHash")),
            locked=flag(doc.get("locked"), False),
            refs=texts(doc.get("refs")),
            is_read=flag(doc.get("isRead"), True),
            tags=texts(doc.get("tags")),
            user_defined_metadata=KeyValue.from_pairs(doc.get("userDefinedMetadata")),
            metadata=KeyValue.from_pairs(doc.get("metadata")),
            delete_status=nested(doc.get("deleteStatus"), DeleteStatus.from_document),
            file_scan_result=enum_member(FileScanResult, doc.get("fileScanResult"), FileScanResult.NOT_APPLICABLE),
            references=each(doc.get("references"), Reference.from_document),
            created=timestamp(doc.get("created")),
            created_by=text(doc.get("createdBy")),
            last_changed=timestamp(doc.get("lastChanged")),
            last_changed_by=text(doc.get("lastChangedBy")),
        )
