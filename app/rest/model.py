"""Altinn's API JSON form of the documents, declared once: each model renders a stored document
(BSON dates, odd old values, fields of its own such as `_pendingEvents`) into exactly its
fields, and gives the JSON Schema that the OpenAPI document publishes for it.

As Altinn Storage writes them (Newtonsoft.Json with its defaults, as in Altinn's documented
example): every field of a model is present, null when the document has no usable value;
booleans and enums that are not nullable in Altinn's C# model read as their defaults.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from app.enums import FileScanResult, ReadStatus
from app.values import enum_member, integer, text, timestamp

Schema = dict[str, Any]


class Kind(Protocol):
    def render(self, value: Any) -> Any: ...

    def schema(self) -> Schema: ...


def altinn_timestamp(value: Any) -> str | None:
    """UTC with `Z` and the fraction of a second without trailing zeros, as Newtonsoft.Json
    writes a .NET UTC DateTime: 2020-11-18T15:56:41.566Z, 2020-11-18T15:56:41Z."""
    moment = timestamp(value)
    if moment is None:
        return None
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + (f".{fraction}" if fraction else "") + "Z"


@dataclass(frozen=True)
class Text:
    def render(self, value: Any) -> str | None:
        return text(value)

    def schema(self) -> Schema:
        return {"type": ["string", "null"]}


@dataclass(frozen=True)
class Integer:
    """A C# int or long; with a default, one that is not nullable."""

    format: str = "int32"
    default: int | None = None

    def render(self, value: Any) -> int | None:
        number = integer(value)
        return self.default if number is None else number

    def schema(self) -> Schema:
        if self.default is None:
            return {"type": ["integer", "null"], "format": self.format}
        return {"type": "integer", "format": self.format, "default": self.default}


@dataclass(frozen=True)
class Timestamp:
    def render(self, value: Any) -> str | None:
        return altinn_timestamp(value)

    def schema(self) -> Schema:
        return {"type": ["string", "null"], "format": "date-time"}


@dataclass(frozen=True)
class Flag:
    """A C# bool: never null."""

    default: bool

    def render(self, value: Any) -> bool:
        return value if isinstance(value, bool) else self.default

    def schema(self) -> Schema:
        return {"type": "boolean", "default": self.default}


@dataclass(frozen=True)
class Choice:
    """A C# enum, read as the GraphQL API reads it (enum_member) and written in Altinn's spelling;
    anything else is the default."""

    enum: type[Enum]
    default: Enum

    def render(self, value: Any) -> str:
        return enum_member(self.enum, value, self.default).value

    def schema(self) -> Schema:
        return {"type": "string", "enum": [m.value for m in self.enum], "default": self.default.value}


@dataclass(frozen=True)
class TextMap:
    """A JSON object of texts (presentationTexts, dataValues)."""

    def render(self, value: Any) -> dict[str, str | None] | None:
        return {str(k): text(v) for k, v in value.items()} if isinstance(value, dict) else None

    def schema(self) -> Schema:
        return {"type": ["object", "null"], "additionalProperties": {"type": ["string", "null"]}}


@dataclass(frozen=True)
class Texts:
    def render(self, value: Any) -> list[str] | None:
        if not isinstance(value, list):
            return None
        return [t for t in (text(v) for v in value) if t is not None]

    def schema(self) -> Schema:
        return {"type": ["array", "null"], "items": {"type": "string"}}


@dataclass(frozen=True)
class Model:
    """An object of named fields. `always`: a missing or odd value renders as the object with
    every field at its default, not as null."""

    name: str
    description: str
    fields: Mapping[str, Kind]
    always: bool = False

    def render(self, value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            if not self.always:
                return None
            value = {}
        return {name: kind.render(value.get(name)) for name, kind in self.fields.items()}

    def schema(self) -> Schema:
        reference = {"$ref": f"#/components/schemas/{self.name}"}
        return reference if self.always else {"anyOf": [reference, {"type": "null"}]}

    def definition(self) -> Schema:
        """The component schema: exactly these fields, each always present."""
        return {
            "type": "object",
            "description": self.description,
            "properties": {name: kind.schema() for name, kind in self.fields.items()},
            "required": list(self.fields),
            "additionalProperties": False,
        }


@dataclass(frozen=True)
class ListOf:
    model: Model

    def render(self, value: Any) -> list[dict[str, Any] | None] | None:
        if not isinstance(value, list):
            return None
        return [self.model.render(v) for v in value if isinstance(v, dict)]

    def schema(self) -> Schema:
        return {"type": ["array", "null"], "items": {"$ref": f"#/components/schemas/{self.model.name}"}}


def definitions(*roots: Model) -> dict[str, Schema]:
    """The component schemas of these models and of every model inside them, by name."""
    found: dict[str, Schema] = {}
    pending = list(roots)
    while pending:
        model = pending.pop()
        if model.name in found:
            continue
        found[model.name] = model.definition()
        for kind in model.fields.values():
            inner = kind.model if isinstance(kind, ListOf) else kind
            if isinstance(inner, Model):
                pending.append(inner)
    return dict(sorted(found.items()))


RESOURCE_LINKS = Model(
    "ResourceLinks",
    "URLs of the same resource in the app's API and in Storage's (`platform`, this gateway).",
    {"apps": Text(), "platform": Text()},
)
INSTANCE_OWNER = Model(
    "InstanceOwner",
    "Who the instance belongs to.",
    {
        "partyId": Text(),
        "personNumber": Text(),
        "organisationNumber": Text(),
        "username": Text(),
        "externalIdentifier": Text(),
    },
)
VALIDATION_STATUS = Model(
    "ValidationStatus",
    "When the task was last validated, and whether it could be completed then.",
    {"timestamp": Timestamp(), "canCompleteTask": Flag(False)},
)
PROCESS_ELEMENT_INFO = Model(
    "ProcessElementInfo",
    "The current task.",
    {
        "flow": Integer(),
        "started": Timestamp(),
        "elementId": Text(),
        "name": Text(),
        "altinnTaskType": Text(),
        "ended": Timestamp(),
        "validated": VALIDATION_STATUS,
        "flowType": Text(),
    },
)
PROCESS_STATE = Model(
    "ProcessState",
    "Where the instance's process is.",
    {
        "started": Timestamp(),
        "startEvent": Text(),
        "currentTask": PROCESS_ELEMENT_INFO,
        "ended": Timestamp(),
        "endEvent": Text(),
    },
)
SUBSTATUS = Model(
    "Substatus",
    "What the app owner tells the user about the instance's state.",
    {"label": Text(), "description": Text()},
)
READ_STATUSES = tuple(s.value for s in ReadStatus)
INSTANCE_STATUS = Model(
    "InstanceStatus",
    "Archived, deleted and read flags; an instance without one reads as all false and Unread.",
    {
        "isArchived": Flag(False),
        "archived": Timestamp(),
        "isSoftDeleted": Flag(False),
        "softDeleted": Timestamp(),
        "isHardDeleted": Flag(False),
        "hardDeleted": Timestamp(),
        "readStatus": Choice(ReadStatus, ReadStatus.UNREAD),
        "substatus": SUBSTATUS,
    },
    always=True,
)
COMPLETE_CONFIRMATION = Model(
    "CompleteConfirmation",
    "A stakeholder (an app owner's org code) has all it needs from the instance.",
    {"stakeholderId": Text(), "confirmedOn": Timestamp()},
)
KEY_VALUE_ENTRY = Model("KeyValueEntry", "A key and its value.", {"key": Text(), "value": Text()})
REFERENCE = Model(
    "Reference", "A reference to another object.", {"value": Text(), "relation": Text(), "valueType": Text()}
)
DELETE_STATUS = Model(
    "DeleteStatus", "Whether the data element is deleted.", {"isHardDeleted": Flag(False), "hardDeleted": Timestamp()}
)
DATA_ELEMENT = Model(
    "DataElement",
    "A form, an attachment or other data of the instance.",
    {
        "id": Text(),
        "instanceGuid": Text(),
        "dataType": Text(),
        "filename": Text(),
        "contentType": Text(),
        "blobStoragePath": Text(),
        "selfLinks": RESOURCE_LINKS,
        "size": Integer("int64", default=0),
        "contentHash": Text(),
        "locked": Flag(False),
        "refs": Texts(),
        "isRead": Flag(True),
        "tags": Texts(),
        "userDefinedMetadata": ListOf(KEY_VALUE_ENTRY),
        "metadata": ListOf(KEY_VALUE_ENTRY),
        "deleteStatus": DELETE_STATUS,
        "fileScanResult": Choice(FileScanResult, FileScanResult.NOT_APPLICABLE),
        "references": ListOf(REFERENCE),
        "created": Timestamp(),
        "createdBy": Text(),
        "lastChanged": Timestamp(),
        "lastChangedBy": Text(),
    },
)
INSTANCE = Model(
    "Instance",
    "One interaction between an app user and an app owner.",
    {
        "id": Text(),
        "instanceOwner": INSTANCE_OWNER,
        "appId": Text(),
        "org": Text(),
        "selfLinks": RESOURCE_LINKS,
        "dueBefore": Timestamp(),
        "visibleAfter": Timestamp(),
        "process": PROCESS_STATE,
        "status": INSTANCE_STATUS,
        "completeConfirmations": ListOf(COMPLETE_CONFIRMATION),
        "data": ListOf(DATA_ELEMENT),
        "presentationTexts": TextMap(),
        "dataValues": TextMap(),
        "created": Timestamp(),
        "createdBy": Text(),
        "lastChanged": Timestamp(),
        "lastChangedBy": Text(),
    },
)
PLATFORM_USER = Model(
    "PlatformUser",
    "Who made a change.",
    {
        "userId": Integer(),
        "orgId": Text(),
        "authenticationLevel": Integer(default=0),
        "endUserSystemId": Integer(),
        "nationalIdentityNumber": Text(),
        "systemUserId": Text(),
        "systemUserOwnerOrgNo": Text(),
        "systemUserName": Text(),
    },
    always=True,
)
INSTANCE_EVENT = Model(
    "InstanceEvent",
    "One change of an instance, as the audit trail records it.",
    {
        "id": Text(),
        "instanceId": Text(),
        "dataId": Text(),
        "created": Timestamp(),
        "eventType": Text(),
        "instanceOwnerPartyId": Text(),
        "user": PLATFORM_USER,
        "processInfo": PROCESS_STATE,
        "additionalInfo": Text(),
    },
)
