"""What reaching the database costs: one query per page plus one count, fetching only the
selected fields."""

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
