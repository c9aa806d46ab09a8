"""Lenient readers for stored values: real documents are messy, and one odd value should
read as null (or the field's default), not fail a whole page."""

from collections.abc import Callable, Mapping
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
