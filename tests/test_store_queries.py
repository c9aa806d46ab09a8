"""What reaching the database costs: one query per page plus one count, fetching only the
selected fields."""

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from app.store.changes import InstanceChanges
from app.store.cursors import CursorCodec
from app.store.documents import normalize_instance
from app.store.instances import InstanceStore
from app.store.writes import write_all
from tests.conftest import user_token
from tests.factories import make_data_element, make_instance


def _record_calls(gw) -> list:
    """Record the calls the gateway makes on its instances collection from now on. From
    MongoDB a page is read with find_raw_batches: a find whose documents are decoded one by one."""
    instances = gw.http._transport.app.state.services.database.instances
    calls = []
    for method in ("find", "find_raw_batches", "find_one", "count_documents", "aggregate"):
        original = getattr(instances, method)
        name = method.removesuffix("_raw_batches")

        def spy(*args, _method=name, _original=original, **kwargs):
            calls.append((_method, args))
            return _original(*args, **kwargs)

        setattr(instances, method, spy)
    return calls


async def _calls_answering(gw, calls, query):
    calls.clear()
    await gw.data(query)
    return list(calls)


async def test_a_page_is_one_query_fetching_only_selected_fields(gateway_with):
    async with gateway_with([make_instance() for _ in range(5)]) as gw:
        calls = _record_calls(gw)
        page = "{ instances(first: 2) { nodes { appId instanceGuid } pageInfo { hasNextPage } } }"
        [(method, (_query, projection))] = await _calls_answering(gw, calls, page)
    assert method == "find"
    assert projection == {"_id": 0, "appId": 1, "id": 1, "lastChanged": 1}


async def test_total_count_adds_one_count_and_only_when_selected(gateway_with):
    async with gateway_with([make_instance() for _ in range(5)]) as gw:
        calls = _record_calls(gw)
        with_count = await _calls_answering(gw, calls, "{ instances(first: 2) { totalCount nodes { id } } }")
        count_only = await _calls_answering(gw, calls, "{ instances { totalCount } }")
    assert sorted(method for method, _ in with_count) == ["count_documents", "find"]
    assert [method for method, _ in count_only] == ["count_documents"]


async def test_data_filters_run_in_the_one_query(gateway_with):
    matching = make_instance(data=[make_data_element(dataType="a"), make_data_element(dataType="b", size=5)])
    other = make_instance(data=[make_data_element(dataType="b", size=500)])
    query_text = '{ instances(filter: {data: {dataType: {eq: "b"}, size: {lt: 10}}}) { nodes { id } } }'
    async with gateway_with([matching, other]) as gw:
        calls = _record_calls(gw)
        [(_method, (query, _projection))] = await _calls_answering(gw, calls, query_text)
        data = await gw.data(query_text)
    assert {"data": {"$elemMatch": {"dataType": "b", "size": {"$lt": 10}}}} in query["$and"]
    assert data["instances"]["nodes"] == [{"id": matching["id"]}]


def _record_trail_reads(gw) -> list:
    """Record the finds on the audit trail collection from now on."""
    events = gw.http._transport.app.state.services.database.instance_events
    reads = []
    original = events.find

    def spy(*args, **kwargs):
        reads.append(args)
        return original(*args, **kwargs)

    events.find = spy
    return reads


async def test_an_instance_and_its_audit_trail_are_one_query_for_its_app_owner(gateway_with):
    doc = make_instance()
    query = "query($id: ID!) { instance(id: $id) { id events { eventType } } }"
    async with gateway_with([doc]) as gw:
        for status in ("READ", "UNREAD", "READ"):
            mutation = "mutation($id: ID!, $s: ReadStatus!) { setReadStatus(instanceId: $id, status: $s) { id } }"
            await gw.data(mutation, {"id": doc["id"], "s": status})
        calls, trail_reads = _record_calls(gw), _record_trail_reads(gw)
        data = await gw.data(query, {"id": doc["id"]})
        [(method, (pipeline,))] = calls
        assert (method, trail_reads) == ("aggregate", [])
        assert [next(iter(stage)) for stage in pipeline] == ["$match", "$limit", "$project", "$lookup"]
        assert data["instance"]["events"] == [{"eventType": "MessageRead"}] * 3
        # Someone who may not read the trail reads the instance alone, and never the trail.
        calls.clear()
        body = await gw.query(query, {"id": doc["id"]}, token=user_token(party_id=doc["instanceOwner"]["partyId"]))
        assert "aggregate" not in [method for method, _ in calls]
        assert trail_reads == []
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("messy", [False, True])
async def test_the_joined_audit_trail_is_in_the_order_of_its_own_query(database, messy):
    """Events by `created`, ties by `_id`, as events_of has MongoDB sort them; a trail that
    could be ordered otherwise in Python (a `created` that is not a date-time) is left to it."""
    doc = normalize_instance(make_instance())
    await write_all(database, [doc], [])
    at = datetime(2024, 5, 1, tzinfo=UTC)
    ids = [ObjectId() for _ in range(4)]
    events = [
        {"_id": ids[2], "id": "c", "instanceId": doc["id"], "created": at},
        {"_id": ids[0], "id": "a", "instanceId": doc["id"], "created": at + timedelta(seconds=1)},
        {"_id": ids[1], "id": "b", "instanceId": doc["id"], "created": "2024-01-01" if messy else at},
        {"_id": ids[3], "id": "d", "instanceId": "another", "created": at},
    ]
    await database.instance_events.insert_many(events)
    store = InstanceStore(database, CursorCodec(b"secret"))
    found, trail = await store.get_with_trail(doc["id"], restriction=None, fields=None)
    assert found == await store.get(doc["id"], restriction=None, fields=None)
    expected = (await InstanceChanges(database).events_of([doc["id"]]))[doc["id"]]
    if messy:
        assert trail is None
    else:
        assert [e["id"] for e in trail] == [e["id"] for e in expected] == ["b", "c", "a"]
        assert trail == expected
    assert await store.get_with_trail(doc["id"], restriction={"org": {"eq": "nobody"}}, fields=None) == (None, [])
