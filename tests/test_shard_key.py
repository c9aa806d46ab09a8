"""Shard-ready: every command the gateway and the CLI send about one instance names the shard key
(`instanceOwner.partyId` and `id`, as equalities), so a sharded cluster sends it to one shard;
audit events are addressed by `instanceId`; the unique indexes start with the shard keys.

The commands are recorded (tests/sent_commands.py) through a workload of every operation: each
kind of read, every mutation, every REST call, the outbox, `import` and `purge`. What is single
is told from the command itself (a write, or a filter with an equality on `id` or `_id`), not
from a list of known commands, so a new command that forgets the key fails here."""

import asyncio
from collections.abc import Mapping
from typing import Any

from app.cli import main
from app.rest.endpoints import INSTANCE, OPERATIONS
from app.store.changes import PENDING_EVENTS, InstanceChanges
from app.store.database import connect, ensure_indexes
from app.store.documents import normalize_instance
from app.store.purge import Purge
from app.store.shard_key import EVENT_SHARD_KEY, INSTANCE_SHARD_KEY, PARTY
from app.store.writes import write_all
from app.timestamps import utc_now
from tests.conftest import TEST_SECRET, Gateway, user_token
from tests.factories import make_instance
from tests.rest import call
from tests.sent_commands import BOOKKEEPING, Sent, recording
from tests.test_import import write_lines

Query = Mapping[str, Any]
HARD_DELETED = {"isHardDeleted": True, "hardDeleted": "2024-02-02T00:00:00Z", "isSoftDeleted": True}
MALFORMED_IDS = ["no-slash", "", "/", "1337/", "1337/a/b"]


# --- the rule ----------------------------------------------------------------------------------


def _is_equality(condition: Any) -> bool:
    if isinstance(condition, dict):
        return set(condition) == {"$eq"} and _is_equality(condition["$eq"])
    return condition is not None and not isinstance(condition, list)


def equalities(query: Query) -> dict[str, Any]:
    """The fields the query holds equal to one value, wherever `$and` puts them."""
    found: dict[str, Any] = {}
    for key, condition in query.items():
        if key == "$and":
            for part in condition:
                found |= equalities(part)
        elif not key.startswith("$") and _is_equality(condition):
            found[key] = condition["$eq"] if isinstance(condition, dict) else condition
    return found


def _instance_problem(sent: Sent) -> str | None:
    for document in sent.documents:
        if document["instanceOwner"]["partyId"] != document["id"].partition("/")[0]:
            return "inserts an instance whose id does not start with its party"
    if sent.filter is None:
        return None
    equal = equalities(sent.filter)
    if not (sent.write or "id" in equal or "_id" in equal):
        return None  # a list, which asks every shard on purpose (README: Sharded cluster)
    if PARTY not in equal or "id" not in equal:
        return "targets one instance without the shard key as equalities"
    if str(equal["id"]).partition("/")[0] != equal[PARTY]:
        return "names a party that is not its id's prefix"
    return None


def _event_problem(sent: Sent) -> str | None:
    if sent.filter is None:
        return None
    equal = equalities(sent.filter)
    by_instances = isinstance(sent.filter.get("instanceId"), dict) and set(sent.filter["instanceId"]) == {"$in"}
    if "instanceId" not in equal and not by_instances:
        return "is not addressed by instanceId"
    if sent.upsert and "id" not in equal:
        return "upserts without the whole shard key"
    return None


def problem(sent: Sent) -> str | None:
    """What is wrong with a command on a sharded cluster, or None."""
    if sent.command.startswith("unknown"):
        return "is a command tests/sent_commands.py does not know: teach it there"
    if sent.command in BOOKKEEPING or sent.collection == "partyRoles":  # not sharded: small, per caller
        return None
    if sent.collection == "instances":
        return _instance_problem(sent)
    if sent.collection == "instanceEvents":
        return _event_problem(sent)
    return "is on a collection no rule covers"


def test_the_rule_tells_single_instance_commands_without_the_key_from_lists():
    key = {PARTY: "1337", "id": "1337/a"}
    assert problem(Sent("instances", "find", {"$and": [key, {"org": "ttd"}]})) is None
    assert problem(Sent("instances", "find", {"org": "ttd", "id": {"$gt": "1337/a"}})) is None  # a list
    assert problem(Sent("instances", "find", {"id": "1337/a"}))
    assert problem(Sent("instances", "find", {"_id": "x"}))
    assert problem(Sent("instances", "update", {"id": {"$eq": "1337/a"}}, write=True))
    assert problem(Sent("instances", "update", {"_pendingEvents.id": {"$exists": True}}, write=True))
    assert problem(Sent("instances", "delete", {PARTY: "1", "id": "1337/a"}, write=True))
    assert problem(Sent("instanceEvents", "find", {"instanceId": {"$in": ["1337/a"]}})) is None
    assert problem(Sent("instanceEvents", "update", {"id": "e"}, write=True, upsert=True))
    assert problem(Sent("instanceEvents", "update", {"instanceId": "1337/a"}, write=True, upsert=True))
    assert (
        problem(Sent("instanceEvents", "update", {"instanceId": "1337/a", "id": "e"}, write=True, upsert=True)) is None
    )
    assert problem(Sent("instances", "unknown bulk_write"))
    assert problem(Sent("elsewhere", "find", {}))


# --- the workload ------------------------------------------------------------------------------

READS = [
    "query($id: ID!) { instance(id: $id) { id events { eventType } } }",
    "query($id: ID!) { instance(id: $id) { id status { readStatus } } }",
    "{ instances(first: 2) { totalCount edges { cursor node { id events { eventType } } } } }",
    '{ instances(first: 0, filter: {appId: {eq: "ttd/skjema-a"}}) { pageInfo { hasNextPage } } }',
    '{ instances(filter: {instanceOwner: {partyId: {eq: "1337"}}}, orderBy: [{field: CREATED}]) { totalCount } }',
]
MUTATIONS = [
    'mutation($id: ID!) { setSubstatus(instanceId: $id, substatus: {label: "Behandles"}) { id } }',
    "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { id } }",
    "mutation($id: ID!) { confirmComplete(instanceId: $id) { id } }",
    "mutation($id: ID!) { deleteInstance(instanceId: $id) { id } }",
    "mutation($id: ID!) { restoreInstance(instanceId: $id) { id } }",
    "mutation($id: ID!) { deleteInstance(instanceId: $id, hard: true) { id } }",
]
BULK_DELETE = (
    "mutation($party: String!) { deleteInstances(filter: {instanceOwner: {partyId: {eq: $party}}}, dryRun: false) "
    "{ deleted } }"
)
# What each REST call needs beyond the instance in its path.
REST_EXTRAS: dict[str, dict[str, Any]] = {
    "getInstances": {"params": {"org": "ttd"}},
    "updateSubstatus": {"json": {"label": "Behandles"}},
    "updateReadStatus": {"params": {"status": "Read"}},
}


def _rest_url(path: str, document: dict[str, Any], event_guid: str = "") -> str:
    party, _, guid = document["id"].partition("/")
    org, _, app = document["appId"].partition("/")
    return path.format(partyId=party, instanceGuid=guid, org=org, app=app, eventGuid=event_guid)


async def _event_guid(gw: Gateway, document: dict[str, Any]) -> str:
    """The id of an event of the instance, made by a change, for the call that reads one."""
    await gw.data(MUTATIONS[1], {"id": document["id"]})
    events = await call(gw, "GET", _rest_url(f"{INSTANCE}/events", document))
    return events.json()["instanceEvents"][0]["id"]


async def _graphql(gw: Gateway, documents: list[dict[str, Any]], null_status: dict[str, Any]) -> None:
    instance_id = documents[0]["id"]
    for read in READS:
        await gw.data(read, {"id": instance_id})
    await gw.data(READS[1], {"id": instance_id}, token=user_token())  # an end user's read
    for mutation in MUTATIONS:
        await gw.data(mutation, {"id": documents[1]["id"]})
    # Two changes of one instance at once: the second waits its turn, then reads it again.
    await asyncio.gather(*(gw.data(MUTATIONS[0], {"id": documents[0]["id"]}) for _ in range(2)))
    await gw.data(MUTATIONS[0], {"id": null_status["id"]})  # the repair of an old `status: null`
    assert (await gw.data(BULK_DELETE, {"party": "501"}))["deleteInstances"] == {"deleted": 1}
    for malformed in MALFORMED_IDS:
        assert (await gw.data(READS[0], {"id": malformed}))["instance"] is None
        refused = await gw.query(MUTATIONS[0], {"id": malformed})
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["NOT_FOUND"], refused


async def _rest(gw: Gateway, documents: list[dict[str, Any]]) -> None:
    for operation, document in zip(OPERATIONS, documents, strict=True):
        extras = REST_EXTRAS.get(operation.operation_id, {})
        event_guid = await _event_guid(gw, document) if "{eventGuid}" in operation.path else ""
        response = await call(gw, operation.method, _rest_url(operation.path, document, event_guid), **extras)
        assert response.status_code == 200, (operation.operation_id, response.text)
    malformed = await call(gw, "GET", "/storage/api/v1/instances/no-party/not-a-guid")
    assert malformed.status_code in (400, 404), malformed.text


async def _store_steps(url: str | None, name: str, documents: list[dict[str, Any]]) -> None:
    """What `serve --load`, the outbox and the purge do on a store of their own."""
    database = connect(url, name)
    try:
        await ensure_indexes(database)
        stuck = {"id": "e1", "instanceId": documents[0]["id"], "created": utc_now(), "eventType": "Deleted"}
        loaded = [normalize_instance(d) for d in documents]
        await write_all(database, [{**loaded[0], PENDING_EVENTS: [stuck]}, *loaded[1:]], [])
        again = normalize_instance(make_instance(party_id="600"))
        await write_all(database, [*loaded, again], [])  # upserts, one of them new
        stored = await database.instances.find_one({PARTY: "600", "id": again["id"]}, {"_id": 0})
        assert stored == again
        await write_all(database, [{**loaded[0], PENDING_EVENTS: [stuck]}], [])
        assert await InstanceChanges(database).flush_pending_events() == 1
        purge = Purge(database, utc_now())
        assert await purge.count() == 1
        async for batch in purge.batches():
            for instance_id in batch:
                assert await purge.remove(instance_id) == 0
    finally:
        await database.close()


def _cli(url: str, name: str, documents: list[dict[str, Any]], tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_MONGODB_URL", url)
    monkeypatch.setenv("GATEWAY_MONGODB_DATABASE", name)
    monkeypatch.setenv("GATEWAY_JWT_SECRET", TEST_SECRET)
    assert main(["import", str(write_lines(tmp_path / "instances.ndjson", documents))]) == 0
    assert main(["import", str(tmp_path / "instances.ndjson")]) == 0  # every one an upsert now
    assert main(["purge"]) == 0


def _instances() -> list[dict[str, Any]]:
    documents = [make_instance(party_id=party) for party in ("1337", "500", "501")]
    documents += [
        make_instance(party_id="1337", guid=f"00000000-0000-4000-8000-{n:012}") for n in range(len(OPERATIONS))
    ]
    return documents


async def test_every_single_instance_command_names_the_shard_key(gateway_with, store, monkeypatch, tmp_path):
    documents = _instances()
    null_status = make_instance(party_id="502", status=None)
    for_store = [make_instance(party_id="504"), make_instance(party_id="505", status=HARD_DELETED)]
    with recording(monkeypatch) as sent:
        async with gateway_with([*documents, null_status]) as gw:
            await _graphql(gw, documents, null_status)
            await _rest(gw, documents[3:])
        await _store_steps(store.url, store.new_database(), for_store)
        if not store.embedded:
            cli = [make_instance(party_id="506"), make_instance(party_id="507", status=HARD_DELETED)]
            await asyncio.to_thread(_cli, store.url, store.new_database(), cli, tmp_path, monkeypatch)

    problems = [f"{s.command} on {s.collection} {problem(s)}: {s.filter}" for s in sent if problem(s)]
    assert not problems, "\n".join(problems[:10])
    single = {s.command for s in sent if s.collection == "instances" and PARTY in equalities(s.filter or {})}
    # The workload reached each kind of command on one instance, on either store.
    assert {"find", "aggregate", "update", "delete", "findAndModify"} <= single, single
    assert {("instanceEvents", "update"), ("instanceEvents", "delete")} <= {(s.collection, s.command) for s in sent}


# --- the unique indexes ------------------------------------------------------------------------


def _unique_keys(indexes: dict[str, Any]) -> list[tuple[tuple[str, int], ...]]:
    return [tuple((k, int(d)) for k, d in i["key"]) for n, i in indexes.items() if i.get("unique") and n != "_id_"]


async def test_the_unique_indexes_are_the_shard_keys_and_replace_the_old_ones(database):
    await database.instances.drop_indexes()
    await database.instance_events.drop_indexes()
    await database.instances.create_index([("id", 1)], unique=True)  # as earlier versions made it
    await database.instance_events.create_index([("id", 1)], unique=True)
    await write_all(database, [normalize_instance(make_instance())], [])

    await ensure_indexes(database)
    await ensure_indexes(database)  # again, with nothing left to replace

    assert _unique_keys(await database.instances.index_information()) == [INSTANCE_SHARD_KEY]
    assert _unique_keys(await database.instance_events.index_information()) == [EVENT_SHARD_KEY]
    assert INSTANCE_SHARD_KEY[0] == (PARTY, 1)
    assert await database.instances.count_documents({}) == 1
