"""Whether one document matches a compiled query, in process: for changes that arrive from
a change stream, where asking the database again for each subscriber would cost a round trip.

It evaluates the very query the filter compiler built for the database, with the embedded
store's matcher, so both stores and this agree on one language: the compiler writes every
condition in a form that MongoDB and mongomock read alike.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mongomock.filtering import filter_applies

from app.store.filters import Query
from app.timestamps import to_storage

Document = dict[str, Any]


def matcher(query: Query) -> Callable[[Document], bool]:
    """The test of `query` against one document as stored."""
    stored = _as_stored(query)
    return lambda document: bool(filter_applies(stored, document))


def _as_stored(value: Any) -> Any:
    # BSON keeps milliseconds: a query's times reach the database cut to them, and stored
    # documents hold no more, so `eq` on a time given to the microsecond matches there.
    if isinstance(value, datetime):
        return to_storage(value)
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_stored(item) for item in value]
    return value
