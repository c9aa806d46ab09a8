"""Timestamps as the gateway stores and shows them.

Altinn writes .NET timestamps with up to 7 fractional digits and `Z` or `+00:00`; MongoDB
keeps milliseconds. Everything here is timezone-aware UTC so comparisons never mix naive
and aware values.
"""

from datetime import UTC, date, datetime


class InvalidTimestamp(ValueError):
    pass


def parse_timestamp(value: object) -> datetime:
    """Read a stored or user-given timestamp; a value without a zone is UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidTimestamp(f"not an ISO-8601 date or date-time: {value!r}") from None
    else:
        raise InvalidTimestamp(f"not a date-time: {value!r}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_storage(value: object) -> datetime:
    """The BSON form: UTC, truncated to the millisecond MongoDB keeps."""
    parsed = parse_timestamp(value)
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def format_timestamp(value: datetime) -> str:
    """ISO-8601 in UTC with `Z` and milliseconds, e.g. 2020-11-18T15:56:41.566Z."""
    utc = parse_timestamp(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def utc_now() -> datetime:
    return to_storage(datetime.now(UTC))
