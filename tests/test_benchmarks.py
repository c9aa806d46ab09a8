"""The benchmark's tools (benchmarks/): the wire-protocol stub keeps what `instance-gateway import`
writes and serves PyMongo's reads, and the queries measured are valid against the current schema.
The benchmark itself is not run here (`make bench`)."""

import socket
import struct
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import bson
import graphql
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from app.config import Settings
from app.graphql.schema import build_schema
from benchmarks.data import ORG, as_served, make_instances, write_ndjson
from benchmarks.processes import gateway_env, import_instances, stub_process
from benchmarks.queries import FRONTEND_PAGE, full_instance, full_page, leaves, top_level_fields


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    with stub_process() as url:
        yield url


async def test_the_stub_keeps_what_import_writes_and_serves_find_get_more_and_count(tmp_path: Path, stub_url: str):
    instances = as_served(make_instances(300, seed=7))
    ids = [i["id"] for i in instances]
    data_file = write_ndjson(instances, tmp_path / "instances.ndjson")
    env = gateway_env(stub_url, "imported")
    assert import_instances(data_file, env, tmp_path) == (
        f"imported {len(ids)} instances into imported.instances: {len(ids)} inserted, 0 updated, 0 unchanged"
    )
    import_instances(data_file, env, tmp_path)  # upserts by id: still one of each, in the same order

    client: AsyncMongoClient = AsyncMongoClient(stub_url, tz_aware=True, serverSelectionTimeoutMS=3000)
    try:
        collection = client["imported"]["instances"]
        assert await collection.count_documents({"org": ORG}) == len(ids)
        assert await collection.estimated_document_count() == len(ids)

        # Every document in stored order, over a first batch and getMores; the filter is ignored.
        everything = await collection.find({"org": "not evaluated"}, {"_id": 0, "id": 1}).batch_size(40).to_list(None)
        assert [d["id"] for d in everything] == ids

        page = await collection.find({}, {"_id": 0}).limit(120).to_list(None)
        assert [d["id"] for d in page] == ids[:120]
        assert "_id" not in page[0] and page[0]["appId"] == instances[0]["appId"]
        assert isinstance(page[0]["lastChanged"], datetime) and page[0]["lastChanged"].tzinfo is not None

        projected = await collection.find({}, {"_id": 0, "id": 1, "status.readStatus": 1}).limit(3).to_list(None)
        assert [set(d) for d in projected] == [{"id", "status"}] * 3
        assert set(await collection.find_one({}, {"data": 0, "process": 0})) == set(instances[0]) - {
            "data",
            "process",
        } | {"_id"}

        # An `id` filter picks, also within a top-level $and.
        assert (await collection.find_one({"id": ids[7]}))["id"] == ids[7]
        picked = await collection.find({"$and": [{"id": {"$in": [ids[3], ids[1], "absent"]}}, {"org": ORG}]}).to_list(
            None
        )
        assert [d["id"] for d in picked] == [ids[3], ids[1]]
        assert await collection.count_documents({"id": ids[5]}) == 1

        cursor = collection.find({}).batch_size(10)
        await cursor.next()
        await cursor.close()  # killCursors

        await collection.delete_one({"id": ids[0]})
        assert await collection.count_documents({}) == len(ids) - 1
        with pytest.raises(OperationFailure, match="no such command"):
            await client["imported"].command("frobnicate")
        with pytest.raises(OperationFailure, match="no update operators"):
            await collection.update_one({"id": ids[1]}, {"$set": {"org": "x"}})
    finally:
        await client.close()


def test_the_stub_answers_the_legacy_op_query_handshake(stub_url: str):
    host, _, port = stub_url.removeprefix("mongodb://").rstrip("/").partition(":")
    query = struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1) + bson.encode({"isMaster": 1})
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(struct.pack("<iiii", 16 + len(query), 42, 0, 2004) + query)
        length, _, response_to, opcode = struct.unpack("<iiii", connection.recv(16, socket.MSG_WAITALL))
        reply = connection.recv(length - 16, socket.MSG_WAITALL)
    assert (opcode, response_to, struct.unpack_from("<i", reply, 16)[0]) == (1, 42, 1)  # OP_REPLY, one document
    hello = bson.decode(reply[20:])
    assert hello["ok"] == 1 and hello["ismaster"] is True and hello["maxWireVersion"] >= 9


@pytest.mark.parametrize("query", [full_page(), full_instance(), FRONTEND_PAGE], ids=["page", "instance", "frontend"])
def test_the_measured_queries_are_valid_against_the_schema(query: str):
    schema = graphql.build_schema(build_schema(Settings(_env_file=None)).as_str())
    assert graphql.validate(schema, graphql.parse(query)) == []


def test_the_full_selection_selects_every_instance_field():
    instance = graphql.build_schema(build_schema(Settings(_env_file=None)).as_str()).get_type("Instance")
    assert isinstance(instance, graphql.GraphQLObjectType)
    assert top_level_fields(full_page()) == top_level_fields(full_instance()) == list(instance.fields)
    assert leaves(full_page()) == leaves(full_instance()) > len(instance.fields)
    assert top_level_fields(FRONTEND_PAGE) == ["id", "appId", "lastChanged", "process", "status", "data"]


def test_the_subscription_benchmark_matches_events_by_label_and_splits_its_subscribers():
    import orjson

    from benchmarks.subscriptions import SUBSCRIPTION, label_of, split, subscriber_tokens

    schema = graphql.build_schema(build_schema(Settings(_env_file=None)).as_str())
    assert graphql.validate(schema, graphql.parse(SUBSCRIPTION)) == []
    change = {"operation": "UPDATED", "instance": {"id": "1/a", "status": {"substatus": {"label": "b1m7"}}}}
    message = {"type": "next", "id": "1", "payload": {"data": {"instanceChanged": change}}}
    assert label_of(orjson.dumps(message)) == "b1m7"
    deleted = {"type": "next", "id": "1", "payload": {"data": {"instanceChanged": {"instance": None}}}}
    assert label_of(orjson.dumps(deleted)) is None
    assert label_of(b'{"type":"ping"}') is None
    assert label_of('{"type":"error","id":"1","payload":[]}') is None
    assert split(list(range(10)), 4) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert split([1], 4) == [[1]]
    distinct = subscriber_tokens(3, distinct=True)
    assert len(set(distinct)) == 3 and len(set(subscriber_tokens(3, distinct=False))) == 1


async def test_the_group_benchmark_sends_the_gateways_pipeline_and_compares_groups_as_the_gateway_reads_them():
    from app.enums import InstanceGroupKey as Key
    from app.store.documents import normalize_instance
    from app.store.matching import matcher
    from benchmarks.data import service_owner_token
    from benchmarks.groups import (
        CASES,
        QUERY,
        answered_rows,
        baseline_pipeline,
        expected_rows,
        explained_pipeline,
        service_owner_access,
    )
    from benchmarks.processes import POLICY_DIR

    schema = graphql.build_schema(build_schema(Settings(_env_file=None)).as_str())
    assert graphql.validate(schema, graphql.parse(QUERY)) == []
    group_type = schema.get_type("InstanceGroup")
    assert isinstance(group_type, graphql.GraphQLObjectType)
    (operation,) = graphql.parse(QUERY).definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    (root,) = operation.selection_set.selections
    assert isinstance(root, graphql.FieldNode) and root.selection_set is not None
    assert [f.name.value for f in root.selection_set.selections] == list(group_type.fields)  # every key's field

    # The baseline's $match is the read's: the caller's filter and ttd's read restriction.
    access = await service_owner_access(service_owner_token(), Settings(_env_file=None, policy_dir=str(POLICY_DIR)))
    instances = [normalize_instance(i) for i in make_instances(200, seed=7)]
    for case in CASES:
        pipeline = baseline_pipeline(case, access, 100)
        assert pipeline[-1] == {"$limit": 101}
        matched = [i["appId"] for i in instances if matcher(pipeline[0]["$match"])(i)]
        wanted = case.filter["appId"]["eq"] if case.filter else None
        assert matched and all(a.startswith(f"{ORG}/") and wanted in (None, a) for a in matched)
        explain = {"commands": [{"command": {"find": "instances"}}, {"command": {"aggregate": "i", "pipeline": []}}]}
        assert explained_pipeline({"extensions": {"explain": explain}}) == []

    # Messy stored values merge as reads read them: an odd read status is UNREAD, a missing flag false.
    by = (Key.READ_STATUS, Key.IS_SOFT_DELETED)
    stored = [
        {"_id": {"READ_STATUS": "Unread", "IS_SOFT_DELETED": False}, "count": 3},
        {"_id": {"READ_STATUS": "odd", "IS_SOFT_DELETED": None}, "count": 2},
        {"_id": {"READ_STATUS": "Read", "IS_SOFT_DELETED": True}, "count": 4},
    ]
    assert expected_rows(stored, by, 100) == [(("UNREAD", False), 5), (("READ", True), 4)]
    answer = {
        "instanceGroups": [
            {"readStatus": "UNREAD", "isSoftDeleted": False, "appId": None, "count": 5},
            {"readStatus": "READ", "isSoftDeleted": True, "appId": None, "count": 4},
        ]
    }
    assert answered_rows(answer, by) == expected_rows(stored, by, 100)
