"""The in-process matcher reads a query's times as the database does: to the millisecond."""

from datetime import UTC, datetime

from app.store.filters import compile_read_query
from app.store.matching import matcher

STORED = datetime(2024, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)  # BSON keeps milliseconds
GIVEN = datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


def test_a_time_given_to_the_microsecond_matches_the_stored_millisecond():
    document = {"id": "1/x", "lastChanged": STORED}
    assert matcher(compile_read_query({"lastChanged": {"eq": GIVEN}}, None))(document)
    assert matcher(compile_read_query({"lastChanged": {"in": [GIVEN]}}, None))(document)
    assert not matcher(compile_read_query({"lastChanged": {"gt": GIVEN}}, None))(document)
    assert matcher(compile_read_query({"lastChanged": {"lte": GIVEN}}, None))(document)
