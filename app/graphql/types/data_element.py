from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.common import KeyValue, ResourceLinks
from app.graphql.types.values import (
    Each,
    EnumOf,
    Flag,
    Nested,
    Stored,
    integer,
    read_document,
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

    STORED: ClassVar[Mapping[str, Stored]] = {
        "is_hard_deleted": Stored("isHardDeleted", Flag(False)),
        "hard_deleted": Stored("hardDeleted", timestamp),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="A typed reference from a data element to something else.")
class Reference:
    value: str | None
    relation: str | None
    value_type: str | None

    STORED: ClassVar[Mapping[str, Stored]] = {
        "value": Stored("value", text),
        "relation": Stored("relation", text),
        "value_type": Stored("valueType", text),
    }
    from_document = classmethod(read_document)


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

    STORED: ClassVar[Mapping[str, Stored]] = {
        "id": Stored("id", text),
        "instance_guid": Stored("instanceGuid", text),
        "data_type": Stored("dataType", text),
        "filename": Stored("filename", text),
        "content_type": Stored("contentType", text),
        "blob_storage_path": Stored("blobStoragePath", text),
        "self_links": Stored("selfLinks", Nested(ResourceLinks)),
        "size": Stored("size", integer),
        "content_hash": Stored("contentHash", text),
        "locked": Stored("locked", Flag(False)),
        "refs": Stored("refs", texts),
        "is_read": Stored("isRead", Flag(True)),
        "tags": Stored("tags", texts),
        "user_defined_metadata": Stored("userDefinedMetadata", Each(KeyValue, needs="key")),
        "metadata": Stored("metadata", Each(KeyValue, needs="key")),
        "delete_status": Stored("deleteStatus", Nested(DeleteStatus)),
        "file_scan_result": Stored("fileScanResult", EnumOf(FileScanResult, FileScanResult.NOT_APPLICABLE)),
        "references": Stored("references", Each(Reference)),
        "created": Stored("created", timestamp),
        "created_by": Stored("createdBy", text),
        "last_changed": Stored("lastChanged", timestamp),
        "last_changed_by": Stored("lastChangedBy", text),
    }
    from_document = classmethod(read_document)
