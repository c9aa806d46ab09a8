"""Whether one document matches a compiled query, in process: for changes that arrive from
a change stream, where asking the database again for each subscriber would cost a round trip.

It evaluates the very query the filter compiler built for the database, with the embedded
store's matcher, so both stores and this agree on one language: the compiler writes every
condition in a form that MongoDB and mongomock read alike.
"""

from typing import Any

from mongomock.filtering import filter_applies

from app.store.filters import Query


def matches(query: Query, document: dict[str, Any]) -> bool:
    return bool(filter_applies(query, document))
