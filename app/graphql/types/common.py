from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app.values import Stored, read_document, text


@strawberry.type(description="URLs of the same resource in the App API and the Platform Storage API.")
class ResourceLinks:
    apps: str | None = strawberry.field(
        description="The URL in the app's own API, https://{org}.apps.altinn.no/{org}/{app}/instances/...; "
        "null when the document has none."
    )
    platform: str | None = strawberry.field(
        description="The URL in Altinn Platform's Storage API, "
        "https://platform.altinn.no/storage/api/v1/instances/...; null when the document has none."
    )

    STORED: ClassVar[Mapping[str, Stored]] = {"apps": Stored("apps", text), "platform": Stored("platform", text)}
    from_document = classmethod(read_document)


@strawberry.type(description="A free-form key and value.")
class KeyValue:
    """Stored as a JSON object's entries (e.g. presentationTexts, see Entries) or as a list of
    {key, value} objects (e.g. a data element's metadata, see Each)."""

    key: str = strawberry.field(description="The key, as the app named it.")
    value: str | None = strawberry.field(
        description="The value as text; null when stored as null, an object or a list."
    )

    STORED: ClassVar[Mapping[str, Stored]] = {"key": Stored("key", str), "value": Stored("value", text)}
    from_document = classmethod(read_document)
