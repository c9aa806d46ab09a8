"""Upserting whole documents says what it did to each: inserted, updated or left unchanged."""

from app.store.database import Upserts
from app.store.documents import normalize_instance
from app.store.writes import write_all
from tests.factories import make_instance


async def test_upserts_count_the_inserted_the_updated_and_the_unchanged(database):
    documents = [normalize_instance(make_instance()) for _ in range(3)]
    grant = {"userId": "1", "partyId": "500", "roles": ["DAGL"]}

    first = await write_all(database, documents, [grant])
    changed = normalize_instance(make_instance(guid=documents[0]["id"].split("/")[1], lastChangedBy="changed"))
    added = normalize_instance(make_instance())
    again = await write_all(database, [changed, *documents[1:], added], [grant])

    assert (first.instances, first.grants) == (Upserts(inserted=3), Upserts(inserted=1))
    assert (again.instances, again.grants) == (Upserts(inserted=1, updated=1, unchanged=2), Upserts(unchanged=1))
