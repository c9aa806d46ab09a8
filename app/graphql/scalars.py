"""The DateTime scalar: ISO-8601 in, UTC with `Z` out."""

from datetime import datetime
from typing import NewType

import strawberry

from app.timestamps import InvalidTimestamp, format_timestamp, to_storage


def _parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string, e.g. 2020-09-30 or 2020-09-30T12:00:00Z")
    try:
        # Stored dates keep milliseconds; a finer input would compare differently on
        # MongoDB and the embedded store.
        return to_storage(value)
    except InvalidTimestamp as error:
        raise ValueError(f"DateTime {error}; use e.g. 2020-09-30 or 2020-09-30T12:00:00Z") from None


DateTime = NewType("DateTime", datetime)

SCALARS = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description=(
            "ISO-8601. Output: UTC with Z. Input: with an offset or Z; a date alone is midnight UTC; "
            "no zone reads as UTC."
        ),
        serialize=format_timestamp,
        parse_value=_parse,
    )
}
