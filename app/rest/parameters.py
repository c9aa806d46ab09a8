"""Query-string and path parameters, read from an allow-list. Each endpoint declares the
parameters it takes; any other name, an empty value, or a repeat of a parameter that takes one
value is a 400 naming the parameter. Values are only ever read as data (a flag, a number, a
date, a text compared for equality): none becomes a field path or an operator.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.errors import BadUserInput
from app.timestamps import InvalidTimestamp, to_storage

Schema = dict[str, Any]

DATE_OPERATORS = ("gt", "gte", "lt", "lte", "eq")
_PARTY_ID = re.compile(r"[0-9]{1,10}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SHOWN = 100  # characters of a value quoted back in a message


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    schema: Schema  # of one value
    repeatable: bool = False


class ParameterError(BadUserInput):
    """A parameter with an unusable name or value: 400, with the parameter named."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def shown(value: str) -> str:
    """A value as a message quotes it: in quotes, cut short."""
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


def read_query(items: Iterable[tuple[str, str]], allowed: Sequence[Parameter]) -> dict[str, list[str]]:
    """The values of each given parameter by its declared name. Names match ignoring case, as
    Altinn Storage (ASP.NET model binding) matches them. Unknown names are refused rather than
    ignored as Altinn does: a filter the gateway does not know would silently widen what a
    cleanup script then deletes."""
    declared = {p.name.lower(): p for p in allowed}
    given: dict[str, list[str]] = {}
    for name, value in items:
        parameter = declared.get(name.lower())
        if parameter is None:
            takes = ", ".join(p.name for p in allowed) if allowed else "no parameters"
            raise ParameterError(name[:_SHOWN], f"Unknown parameter {shown(name)}: this endpoint takes {takes}.")
        if value == "":
            # An empty value is no filter; refused, so that a script's missing value cannot widen a query.
            raise ParameterError(parameter.name, f"{parameter.name} is empty: give it a value or leave it out.")
        given.setdefault(parameter.name, []).append(value)
        if len(given[parameter.name]) > 1 and not parameter.repeatable:
            raise ParameterError(parameter.name, f"{parameter.name} is given more than once; it takes one value.")
    return given


def flag(name: str, value: str) -> bool:
    """true or false, in any case (as .NET reads a bool)."""
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ParameterError(name, f"{name} must be true or false, not {shown(value)}.")
    return lowered == "true"


def whole_number(name: str, value: str, low: int, high: int) -> int:
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None
    if number is None or not low <= number <= high:
        raise ParameterError(name, f"{name} must be a whole number from {low} to {high}, not {shown(value)}.")
    return number


def date_conditions(name: str, values: Sequence[str]) -> dict[str, datetime]:
    """`op:date` values (created=gte:2020-01-01&created=lt:2020-02-01) as a DateTimeFilter;
    a date without a zone is UTC."""
    conditions: dict[str, datetime] = {}
    for value in values:
        operator, colon, date = value.partition(":")
        if not colon or operator not in DATE_OPERATORS:
            raise ParameterError(
                name,
                f"{name} takes op:date with op one of {', '.join(DATE_OPERATORS)} "
                f"(e.g. {name}=lte:2020-09-30), not {shown(value)}.",
            )
        if operator in conditions:
            raise ParameterError(name, f"{name} gives {operator} more than once.")
        conditions[operator] = _date(name, date)
    return conditions


def _date(name: str, value: str) -> datetime:
    try:
        return to_storage(value)
    except (InvalidTimestamp, ValueError, OverflowError):
        # A '+' in a query string reads as a space: the usual cause of a malformed offset.
        hint = " (a '+' in a query string reads as a space: send it as %2B)" if " " in value.strip() else ""
        raise ParameterError(
            name,
            f"{name} has a malformed date {shown(value)}: use ISO 8601, e.g. 2020-09-30 or 2020-09-30T12:00:00Z{hint}.",
        ) from None


def party_id(name: str, value: str) -> str:
    """A party id, as digits without leading zeros (Altinn reads it as an int)."""
    if not _PARTY_ID.fullmatch(value):
        raise ParameterError(name, f"{name} must be a party id (digits), not {shown(value)}.")
    return str(int(value))


def guid(name: str, value: str) -> str:
    """A GUID in the lower-case form Altinn writes instance ids with."""
    if not _GUID.fullmatch(value):
        raise ParameterError(
            name, f"{name} must be a GUID such as bd9edd59-b18c-4726-aa9e-6b150eade814, not {shown(value)}."
        )
    return value.lower()
