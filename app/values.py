"""Lenient readers for stored values: real documents are messy, and one odd value should
read as null (or the field's default), not fail a whole page.
GraphQL's types and REST's model (app/rest/model.py) use the same readers.

Each type says where each of its fields is stored and which reader reads it (`Stored`, in its
`STORED` table); `from_document` builds the type from that table, and the compiled execution
(app/graphql/compiled/) generates its code from the same table, so both read alike.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from app.timestamps import InvalidTimestamp, parse_timestamp

E = TypeVar("E", bound=Enum)
T = TypeVar("T")


def text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def required_text(value: Any) -> str:
    """A text the schema promises: empty when missing or odd."""
    return text(value) or ""


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def flag(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except InvalidTimestamp:
        return None


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def nested(value: Any, build: Callable[[Mapping[str, Any]], T]) -> T | None:
    return build(value) if isinstance(value, dict) else None


def each(value: Any, build: Callable[[Mapping[str, Any]], T]) -> list[T]:
    return [build(v) for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def texts(value: Any) -> list[str]:
    return [str(v) for v in value if v is not None] if isinstance(value, list) else []


def enum_member(enum: type[E], value: Any, default: E) -> E:
    """Altinn's enum strings, matched ignoring case; .NET's numeric form is accepted too."""
    members = list(enum)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(members):
        return members[value]
    if isinstance(value, str):
        for member in members:
            if member.value.lower() == value.lower():
                return member
    return default


@dataclass(frozen=True)
class Stored:
    """A field's value is `read(document.get(key, missing))`."""

    key: str
    read: Callable[[Any], Any]
    missing: Any = None

    def __call__(self, doc: Mapping[str, Any]) -> Any:
        return self.read(doc.get(self.key, self.missing))


def read_document(cls: type[T], doc: Mapping[str, Any]) -> T:
    """An instance of `cls` (a type with a STORED table) with every field read from `doc`."""
    stored: Mapping[str, Stored] = cls.STORED  # type: ignore[attr-defined]
    return cls(**{name: field(doc) for name, field in stored.items()})


@dataclass(frozen=True)
class Flag:
    """A boolean; anything else reads as the default."""

    default: bool

    def __call__(self, value: Any) -> bool:
        return flag(value, self.default)


@dataclass(frozen=True)
class EnumOf:
    """An enum member (see enum_member); anything else reads as the default."""

    enum: type[Enum]
    default: Enum

    def __call__(self, value: Any) -> Enum:
        return enum_member(self.enum, value, self.default)


@dataclass(frozen=True)
class Nested:
    """An object of this type, or null when the value is not one."""

    type: type

    def __call__(self, value: Any) -> Any:
        return nested(value, self.type.from_document)


@dataclass(frozen=True)
class Always:
    """An object of this type; a missing or odd value reads as an empty object."""

    type: type

    def __call__(self, value: Any) -> Any:
        return self.type.from_document(mapping(value))


@dataclass(frozen=True)
class Each:
    """A list of objects of this type, from the list's objects; with `needs`, only those with a
    non-null value there."""

    type: type
    needs: str | None = None

    def __call__(self, value: Any) -> list[Any]:
        if self.needs is None:
            return each(value, self.type.from_document)
        if not isinstance(value, list):
            return []
        return [self.type.from_document(v) for v in value if isinstance(v, dict) and v.get(self.needs) is not None]


@dataclass(frozen=True)
class Entries:
    """A list of objects of this type, one for each entry of a JSON object, read from
    `{"key": key, "value": value}`."""

    type: type

    def __call__(self, value: Any) -> list[Any]:
        if not isinstance(value, dict):
            return []
        return [self.type.from_document({"key": k, "value": v}) for k, v in value.items()]
