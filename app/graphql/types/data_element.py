from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app import enums
from app.graphql.enums import graphql_enum
from app.graphql.scalars import DateTime
from app.graphql.types.common import KeyValue, ResourceLinks
from app.values import (
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

FileScanResult = graphql_enum(
    enums.FileScanResult,
    "The result of the malware scan of a data element.",
    NOT_APPLICABLE="Its data type is not scanned; also what a missing or unknown value reads as.",
    PENDING="Waiting for the scan.",
    CLEAN="Scanned; no malware found.",
    INFECTED="Scanned; malware found.",
)


@strawberry.type(description="Whether a data element is deleted for good.")
class DeleteStatus:
    is_hard_deleted: bool = strawberry.field(
        description="true: deleted for good and hidden from app users. Missing reads as false."
    )
    hard_deleted: DateTime | None = strawberry.field(description="When it was hard-deleted; null if it is not.")

    STORED: ClassVar[Mapping[str, Stored]] = {
        "is_hard_deleted": Stored("isHardDeleted", Flag(False)),
        "hard_deleted": Stored("hardDeleted", timestamp),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="A typed reference from a data element to something else.")
class Reference:
    value: str | None = strawberry.field(description="The id of what is referred to, e.g. a data element's guid.")
    relation: str | None = strawberry.field(description="How the data element relates to it, e.g. GeneratedFrom.")
    value_type: str | None = strawberry.field(description="What `value` is the id of: DataElement or Task.")

    STORED: ClassVar[Mapping[str, Stored]] = {
        "value": Stored("value", text),
        "relation": Stored("relation", text),
        "value_type": Stored("valueType", text),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="A form, attachment or other data file of an instance.")
class DataElement:
    id: str | None = strawberry.field(description="The data element's guid; null only in a malformed document.")
    instance_guid: str | None = strawberry.field(description="The guid of the instance it belongs to.")
    data_type: str | None = strawberry.field(
        description="Its data type, as the app's metadata names it: the form's (often default) or an attachment type."
    )
    filename: str | None = strawberry.field(description="The file name as uploaded; often null for form data.")
    content_type: str | None = strawberry.field(description="Its MIME type, e.g. application/xml or application/pdf.")
    blob_storage_path: str | None = strawberry.field(
        description="Where Altinn keeps the file's bytes: {org}/{app}/{instanceGuid}/data/{id}."
    )
    self_links: ResourceLinks | None = strawberry.field(
        description="Where to fetch the file from the app's API or Storage."
    )
    size: int | None = strawberry.field(description="The file's size in bytes; null when not recorded.")
    content_hash: str | None = strawberry.field(description="A hash of the content, when one was recorded.")
    locked: bool = strawberry.field(
        description="true: it can no longer change, as its task has been completed. Missing reads as false."
    )
    refs: list[str] = strawberry.field(description="The guids of data elements this one refers to.")
    is_read: bool = strawberry.field(
        description="false: an app user has not opened it since it arrived. Missing reads as true."
    )
    tags: list[str] = strawberry.field(description="Labels the app set, e.g. to sort attachments.")
    user_defined_metadata: list[KeyValue] = strawberry.field(
        description="Key-value pairs the app user's client set; entries without a key are left out."
    )
    metadata: list[KeyValue] = strawberry.field(
        description="Key-value pairs the app set; entries without a key are left out."
    )
    delete_status: DeleteStatus | None = strawberry.field(
        description="Whether it is deleted for good; null when never deleted."
    )
    file_scan_result: FileScanResult = strawberry.field(description="The result of the malware scan of the file.")
    references: list[Reference] = strawberry.field(
        description="Typed references, e.g. to the data element this one was generated from."
    )
    created: DateTime | None = strawberry.field(description="When it was created.")
    created_by: str | None = strawberry.field(description="Who created it: a user id, or an org number.")
    last_changed: DateTime | None = strawberry.field(description="When it last changed.")
    last_changed_by: str | None = strawberry.field(description="Who last changed it: a user id, or an org number.")

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
