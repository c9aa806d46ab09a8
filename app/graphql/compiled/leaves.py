"""How the generated code turns stored values into response values: each helper gives what the
general executor gives for the same value (the field's reader from the STORED table, then the
GraphQL type's coerce_output_value), with a fast path for the common stored form. A value the
general executor would answer with an error raises Unsupported, and that request is answered by
the general executor instead."""

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from graphql import GraphQLEnumType, GraphQLError, GraphQLInt, GraphQLLeafType, GraphQLList, Undefined
from graphql import GraphQLNonNull as NonNull

from app.timestamps import format_timestamp
from app.values import EnumOf, enum_member, integer, timestamp

_UTC_OFFSET = timedelta(0)
_SAFE_OFFSETS = (None, _UTC_OFFSET)  # naive (read as UTC) or UTC: nothing to convert


class Unsupported(Exception):
    """A value the compiled code does not answer as the general executor would: an error."""


# The parts of a date-time's text, looked up rather than formatted: formatting is most of what
# a date-time costs, and a page has a dozen of them per instance.
_DAYS: dict[int, str] = {}  # "YYYY-MM-DD" by proleptic ordinal; cleared when full
_DAYS_KEPT = 40_000  # a century of days
_MINUTES = [f"T{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60)]
_SECONDS = [f"{s:02d}." for s in range(60)]
_MILLISECONDS = [f"{ms:03d}Z" for ms in range(1000)]


def datetime_text(value: Any) -> str | None:
    """A stored date-time as the DateTime scalar writes it: format_timestamp(timestamp(value)),
    the same text, for a UTC date-time without converting it to UTC and formatting it again."""
    if value is None:
        return None
    if value.__class__ is datetime:
        zone = value.tzinfo
        if zone is not None and zone.utcoffset(value) == _UTC_OFFSET:
            day = _DAYS.get(value.toordinal())
            if day is None:
                day = _day(value)
            if day is not None:
                return (
                    day
                    + _MINUTES[value.hour * 60 + value.minute]
                    + _SECONDS[value.second]
                    + _MILLISECONDS[value.microsecond // 1000]
                )
    moment = timestamp(value)
    return None if moment is None else format_timestamp(moment)


def _day(value: datetime) -> str | None:
    if value.year < 1000:
        return None  # strftime writes such a year without leading zeros: format_timestamp's text
    if len(_DAYS) >= _DAYS_KEPT:
        _DAYS.clear()
    day = _DAYS[value.toordinal()] = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return day


def check_timestamp(value: Any) -> None:
    """Raises what the reader of a date-time raises (OverflowError, for a value out of range
    once converted to UTC), for a value that is read but not selected."""
    if value is not None and not (value.__class__ is datetime and value.utcoffset() in _SAFE_OFFSETS):
        timestamp(value)


def int32(value: Any) -> int | None:
    """A stored integer (see `integer`) as an Int; past 32 bits GraphQL answers an error."""
    number = integer(value)
    if number is None:
        return None
    try:
        return GraphQLInt.coerce_output_value(number)
    except GraphQLError:
        raise Unsupported("Int out of range") from None


def enum_names(reader: EnumOf, enum_type: GraphQLEnumType) -> Callable[[Any], str]:
    """A stored enum value read as `reader` reads it, as the name GraphQL answers with."""
    names: dict[Enum, str] = {member: enum_type.coerce_output_value(member) for member in reader.enum}
    exact = {member.value: name for member, name in names.items()}

    def name_of(value: Any) -> str:
        if value.__class__ is str:
            name = exact.get(value)
            if name is not None:
                return name
        return names[enum_member(reader.enum, value, reader.default)]

    return name_of


def completed(read: Callable[[Any], Any], output_type: Any) -> Callable[[Any], Any]:
    """Any reader: its value completed as graphql-core completes a leaf or a list of leaves."""

    def complete(value: Any, value_type: Any) -> Any:
        if isinstance(value_type, NonNull):
            result = complete(value, value_type.of_type)
            if result is None:
                raise Unsupported("null for a non-null field")
            return result
        if value is None:
            return None
        if isinstance(value_type, GraphQLList):
            if not isinstance(value, list | tuple):
                raise Unsupported("not a list")
            return [complete(item, value_type.of_type) for item in value]
        leaf: GraphQLLeafType = value_type
        try:
            result = leaf.coerce_output_value(value)
        except Exception as error:
            raise Unsupported(str(error)) from None
        if result is None or result is Undefined:
            raise Unsupported("null from coerce_output_value")
        return result

    return lambda value: complete(read(value), output_type)
