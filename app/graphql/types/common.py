from collections.abc import Mapping
from typing import Any

import strawberry

from app.graphql.types.values import text


@strawberry.type(description="URLs of the same resource in the App API and the Platform Storage API.")
class ResourceLinks:
    apps: str | None
    platform: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "ResourceLinks":
        return cls(apps=text(doc.get("apps")), platform=text(doc.get("platform")))


@strawberry.type(description="A free-form key and value.")
class KeyValue:
    key: str
    value: str | None

    @classmethod
    def from_dict(cls, value: Any) -> list["KeyValue"]:
        """Key/value texts stored as a JSON object, e.g. presentationTexts."""
        if not isinstance(value, dict):
            return []
        return [cls(key=str(k), value=text(v)) for k, v in value.items()]

    @classmethod
    def from_pairs(cls, value: Any) -> list["KeyValue"]:
        """Key/value texts stored as a list of {key, value}, e.g. a data element's metadata."""
        if not isinstance(value, list):
            return []
        return [
            cls(key=str(pair.get("key")), value=text(pair.get("value")))
            for pair in value
            if isinstance(pair, dict) and pair.get("key") is not None
        ]
