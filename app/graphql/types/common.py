from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app.graphql.types.values import Stored, read_document, text


@strawberry.type(description="URLs of the same resource in the App API and the Platform Storage API.")
class ResourceLinks:
    apps: str | None
    platform: str | None

    STORED: ClassVar[Mapping[str, Stored]] = {"apps": Stored("apps", text), "platform": Stored("platform", text)}
    from_document = classmethod(read_document)


@strawberry.type(description="A free-form key and value.")
class KeyValue:
    """Stored as a JSON object's entries (e.g. presentationTexts, see Entries) or as a list of
    {key, value} objects (e.g. a data element's metadata, see Each)."""

    key: str
    value: str | None

    STORED: ClassVar[Mapping[str, Stored]] = {"key": Stored("key", str), "value": Stored("value", text)}
    from_document = classmethod(read_document)
