"""Connecting to MongoDB, or to the embedded in-memory store.

This module and the store modules beside it are the only ones that know about the driver.
The embedded store is mongomock-motor; the few ways it differs from PyMongo's async client
are kept here.
"""

import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import bson
import pymongo
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne, ReturnDocument
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WriteError,
)

from app.errors import BadUserInput, ServiceUnavailable
from app.store.change_feed import LocalChangeFeed, LocalGrantFeed, StoredChange
from app.store.commands import note
from app.store.ordering import SORT_FIELDS, TIE_BREAK
from app.store.shard_key import EVENT_SHARD_KEY, INSTANCE_SHARD_KEY, instance_key
from app.timestamps import utc_now

# Batch work (`import`) has no time limit per operation, but gives up finding a server after this.
SERVER_SELECTION_TIMEOUT_MS = 5000

# What the database needs before serving may take far longer than a request may wait (building
# indexes on a large collection). Finding a server waits as long, so ping it first.
PREPARATION_TIMEOUT_S = 600


# Documents per batch of `find_batches`: MongoDB's own first batch, so that a page of 1,000
# is about half a megabyte of BSON at a time instead of all of it.
RAW_BATCH_SIZE = 101


@dataclass
class DatabaseCalls:
    """The database calls made for one request: each one's duration goes to `observe`. Once a
    call finds the database unavailable the request's later calls fail at once, so that a
    request of many calls (a bulk delete goes on past failures) answers within one timeout
    instead of one per call."""

    observe: Callable[[float], None]
    seconds: float = 0.0
    unavailable: str | None = None


# Set for each request by the HTTP edge; calls outside requests (start, readiness) are not counted.
current_calls: ContextVar[DatabaseCalls | None] = ContextVar("current_calls", default=None)


@dataclass(frozen=True)
class Upserts:
    """What upserting documents did: how many were new, how many replaced a different
    document, how many were already stored as given."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Database:
    client: Any
    instances: Any
    instance_events: Any
    party_roles: Any
    embedded: bool
    # The embedded store's changes of instances; MongoDB's come from its change stream.
    feed: LocalChangeFeed | None = None
    grant_feed: LocalGrantFeed | None = None  # and its changes of role grants
    address: str = ""  # for the operator's messages: MongoDB's URL without credentials

    async def replace_by(self, collection: Any, keys: Sequence[str], documents: Sequence[dict[str, Any]]) -> Upserts:
        """Insert or replace each document whole, matched on `keys` (dotted paths); the last of
        repeats wins."""
        latest = {tuple(_value_at(d, k) for k in keys): d for d in documents}
        documents = list(latest.values())
        with driver_errors():
            if self.embedded and documents and await collection.estimated_document_count() == 0:
                # mongomock scans the whole collection for every unique index on every insert,
                # making a bulk load quadratic; loading without them and indexing after is linear.
                await collection.drop_indexes()
                await collection.insert_many(documents)  # gives each document its _id
                await ensure_indexes(self)
                for document in documents:
                    self._publish(collection, None, document)
                    self._publish_grant(collection, document)
                return Upserts(inserted=len(documents))
            if self.embedded:
                # mongomock's bulk_write does not accept PyMongo 4.x operation objects. Each find_one
                # scans the collection: read only what subscribers are told.
                published = self._publishes(collection)
                inserted = updated = 0
                for document in documents:
                    match = {k: _value_at(document, k) for k in keys}
                    before = await collection.find_one(match) if published else None
                    result = await collection.replace_one(match, document, upsert=True)
                    inserted, updated = inserted + (result.upserted_id is not None), updated + result.modified_count
                    if published:
                        self._publish(collection, before, await collection.find_one(match))
                    elif result.upserted_id is not None or result.modified_count:
                        self._publish_grant(collection, document)
                return Upserts(inserted, updated, len(documents) - inserted - updated)
            if not documents:
                return Upserts()
            requests = [ReplaceOne({k: _value_at(d, k) for k in keys}, d, upsert=True) for d in documents]
            written = await collection.bulk_write(requests, ordered=False)
            unchanged = written.matched_count - written.modified_count
            return Upserts(written.upserted_count, written.modified_count, unchanged)

    async def update_and_read(
        self, collection: Any, query: dict[str, Any], update: dict[str, Any], projection: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Apply `update` to the instance matching `query`; the instance after the update."""
        with driver_errors():
            if not self.embedded:
                return await collection.find_one_and_update(
                    query, update, projection=projection, return_document=ReturnDocument.AFTER
                )
            # mongomock finds the updated document again with the original query, so a
            # guard that the update changes makes it answer None: match, then read it again by its key.
            before = await collection.find_one_and_update(query, update)
            if before is None:
                return None
            if self.feed is not None and collection is self.instances:
                self.feed.hold(before)  # until `announce`, once its audit event is recorded
            return await collection.find_one(instance_key(before["id"]), projection)

    async def announce(self, instance_id: str) -> None:
        """A change of this instance is complete, its audit event recorded: the embedded
        store's subscribers learn of it now. MongoDB's change stream sees to its own."""
        if self.feed is None:
            return
        with driver_errors():
            after = await self.instances.find_one(instance_key(instance_id))
        if after is not None:
            self.feed.release(after)

    def _publishes(self, collection: Any) -> bool:
        return self.feed is not None and collection is self.instances

    def _publish(self, collection: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        if not self._publishes(collection) or after is None:
            return
        operation = "insert" if before is None else "update"
        self.feed.publish(StoredChange(operation, after["_id"], before, after, utc_now()))

    def _publish_grant(self, collection: Any, grant: dict[str, Any]) -> None:
        if self.grant_feed is not None and collection is self.party_roles:
            self.grant_feed.publish(str(grant["userId"]))

    async def find_batches(
        self,
        collection: Any,
        query: dict[str, Any],
        projection: dict[str, Any],
        sort: list[tuple[str, int]],
        limit: int,
    ) -> AsyncIterator[Iterable[dict[str, Any]]]:
        """The documents of a find of a caller's filter, batch by batch as the server sends them.
        From MongoDB each batch stays BSON until its documents are taken one by one, so a reader
        that keeps what it makes of each document, and not the document, never holds a whole
        page decoded."""
        note(self, collection, "find", filter=query, projection=projection, sort=dict(sort), limit=limit)
        if self.embedded:  # mongomock has no raw batches, and holds every document anyway
            with driver_errors(callers_filter=True):
                documents = await to_list(collection.find(query, projection).sort(sort).limit(limit))
            yield documents
            return
        cursor = collection.find_raw_batches(query, projection, sort=sort, limit=limit, batch_size=RAW_BATCH_SIZE)
        try:
            while True:
                with driver_errors(callers_filter=True):
                    try:
                        batch = await anext(cursor)
                    except StopAsyncIteration:
                        return
                yield bson.decode_iter(batch, collection.codec_options)
        finally:
            await cursor.close()

    async def aggregate(
        self, collection: Any, pipeline: list[dict[str, Any]], *, callers_filter: bool = False
    ) -> list[dict[str, Any]]:
        """The documents of an aggregation: PyMongo's async client gives its cursor when awaited,
        mongomock's at once. `callers_filter` as for driver_errors."""
        note(self, collection, "aggregate", pipeline=pipeline)
        with driver_errors(callers_filter=callers_filter):
            cursor = collection.aggregate(pipeline)
            return await to_list(cursor if self.embedded else await cursor)

    async def explain(self, command: dict[str, Any]) -> dict[str, Any] | None:
        """MongoDB's `explain` of a command, with its execution's statistics; None on the
        embedded store, which has no query planner."""
        if self.embedded:
            return None
        cursor = {"cursor": {}} if "aggregate" in command else {}
        with driver_errors():
            return await self.instances.database.command(
                {"explain": {**command, **cursor}, "verbosity": "executionStats"}
            )

    async def ping(self, timeout_ms: int) -> None:
        """Raises ServiceUnavailable unless the database answers within `timeout_ms`."""
        if self.embedded:
            return
        with driver_errors(), pymongo.timeout(timeout_ms / 1000):
            await self.client.admin.command("ping")

    async def close(self) -> None:
        if not self.embedded:
            await self.client.close()

    def describe_failure(self, error: ServiceUnavailable) -> str:
        """For the operator, never for callers: which database failed, and the driver's reason."""
        cause = error.__cause__
        if isinstance(cause, PyMongoError):
            return f"the database at {self.address} {_unavailability(cause)}: {_DRIVER_DETAILS.sub('', str(cause))}"
        return f"the database at {self.address}: {error.message}"


def connect(url: str | None, database_name: str, *, timeout_ms: int | None = None) -> Database:
    """Open the configured MongoDB, or a fresh in-memory store when no URL is given.
    `timeout_ms` bounds every operation, finding a server included; None is for batch work."""
    if url:
        limits = {"timeoutMS": timeout_ms} if timeout_ms else {}
        client: Any = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=timeout_ms or SERVER_SELECTION_TIMEOUT_MS, **limits
        )
    else:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient(tz_aware=True)
    database = client[database_name]
    return Database(
        client=client,
        instances=database["instances"],
        instance_events=database["instanceEvents"],
        party_roles=database["partyRoles"],
        embedded=not url,
        feed=None if url else LocalChangeFeed(),
        grant_feed=None if url else LocalGrantFeed(),
        address=_without_credentials(url) if url else "the embedded store",
    )


# Connection string options that hold secrets (AWS_SESSION_TOKEN goes in the first).
SECRET_OPTIONS = frozenset({"authmechanismproperties", "tlscertificatekeyfilepassword"})


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    options = [o for o in parts.query.split("&") if o and o.partition("=")[0].lower() not in SECRET_OPTIONS]
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "&".join(options), ""))


IndexKeys = tuple[tuple[str, int], ...]

# Every read has an equality on one of these: the read restriction names the service owner's
# org or an app, or an end user's parties and their apps.
EQUALITY_PREFIXES = ("org", "appId", "instanceOwner.partyId")

# MongoDB's ESR rule: equality fields, then the sort keys, then ranges. With the id breaking
# ties in the order's direction, one index per prefix and sort field serves that order both
# ways (walked backwards for ascending), so no page is sorted in memory. A range on the sort
# field itself (`created: {lte: ...}` ordered by CREATED) uses the same index's bounds.
PAGE_INDEXES: tuple[IndexKeys, ...] = tuple(
    ((prefix, ASCENDING), (field, DESCENDING), (TIE_BREAK, DESCENDING))
    for prefix in EQUALITY_PREFIXES
    for field in SORT_FIELDS
)


# The unique indexes of earlier versions, which a sharded collection's cannot be: its unique
# indexes must start with its shard key.
UNSHARDABLE_UNIQUE = (("id", ASCENDING),)
INDEX_NOT_FOUND = 27


async def ensure_indexes(database: Database) -> None:
    """Indexes for the lookups and orders the API offers; creating them again is a no-op."""
    with driver_errors():
        await _replace_unique_index(database.instances, INSTANCE_SHARD_KEY)
        for keys in PAGE_INDEXES:
            await database.instances.create_index(list(keys))
        await database.instance_events.create_index([("instanceId", ASCENDING), ("created", ASCENDING)])
        await _replace_unique_index(database.instance_events, EVENT_SHARD_KEY)
        await database.instances.create_index([("_pendingEvents.id", ASCENDING)], sparse=True)
        await database.party_roles.create_index([("userId", ASCENDING), ("partyId", ASCENDING)], unique=True)


async def _replace_unique_index(collection: Any, keys: IndexKeys) -> None:
    """The unique index on the shard key, in place of an earlier version's unique index on the
    id alone. The new one is built first, so that no moment is without uniqueness (ids stay
    unique all the same: an instance's starts with its party, an event's is a fresh UUID);
    another gateway starting at the same time may drop the old one first."""
    await collection.create_index(list(keys), unique=True)
    for name, index in (await collection.index_information()).items():
        if index.get("unique") and [tuple(key) for key in index["key"]] == list(UNSHARDABLE_UNIQUE):
            try:
                await collection.drop_index(name)
            except OperationFailure as error:
                if error.code != INDEX_NOT_FOUND:
                    raise


def preparation_timeout() -> contextlib.AbstractContextManager[None]:
    """The time limit of each operation in the block: PREPARATION_TIMEOUT_S, not the request timeout."""
    return pymongo.timeout(PREPARATION_TIMEOUT_S)


@contextlib.contextmanager
def driver_errors(*, callers_filter: bool = False) -> Iterator[None]:
    """The boundary of every database call. An unreachable database, or one that does not
    answer in time, is SERVICE_UNAVAILABLE; a read of a caller's filter (`callers_filter`) that
    the database refuses as invalid is BAD_USER_INPUT; other driver errors, the gateway's own
    commands refused included, stay internal and are masked at the edge. Within a request, the
    call is timed (see DatabaseCalls)."""
    calls = current_calls.get()
    if calls is not None and calls.unavailable is not None:
        raise ServiceUnavailable(calls.unavailable)
    started = time.perf_counter()
    try:
        yield
    except PyMongoError as error:
        if callers_filter and _refused_as_invalid(error):
            reason = (error.details or {}).get("errmsg") or error.code
            raise BadUserInput(f"the database refused the filter ({reason}); change it and ask again") from error
        unavailability = _unavailability(error)
        if unavailability is None:
            raise
        message = f"the database {unavailability}; try again shortly"
        if calls is not None:
            calls.unavailable = message
        raise ServiceUnavailable(message) from error
    finally:
        if calls is not None:
            elapsed = time.perf_counter() - started
            calls.seconds += elapsed
            calls.observe(elapsed)


# What the database answers to a query it cannot run as written: BadValue, FailedToParse,
# TypeMismatch, and a regular expression it cannot compile (too long, say) or whose options it
# does not know. The filter compiler keeps within these; they remain the caller's to fix.
_INVALID_QUERY_CODES = frozenset({2, 9, 14, 51091, 51108})


def _refused_as_invalid(error: PyMongoError) -> bool:
    # A write that fails on a document (a duplicate key, say) is no fault of the query.
    return (
        isinstance(error, OperationFailure)
        and not isinstance(error, WriteError | BulkWriteError)
        and error.code in _INVALID_QUERY_CODES
    )


def _unavailability(error: PyMongoError) -> str | None:
    """How the database failed, or None when it answered (with an error of its own)."""
    # `timeout` covers the driver's own deadline (NetworkTimeout, ServerSelectionTimeoutError)
    # and the server's (ExecutionTimeout: maxTimeMS, which the driver sets from timeoutMS).
    if isinstance(error, ServerSelectionTimeoutError) or (isinstance(error, ConnectionFailure) and not error.timeout):
        return "is unreachable"
    if error.timeout:
        return "did not answer in time"
    return None


# What the driver adds to its reason: its timeouts, and its whole view of the cluster.
_DRIVER_DETAILS = re.compile(r" \(configured timeouts: [^)]*\)|, Timeout: .*", re.DOTALL)


def _value_at(document: dict[str, Any], path: str) -> Any:
    for name in path.split("."):
        document = document[name]
    return document


async def to_list(cursor: Any) -> list[dict[str, Any]]:
    return await cursor.to_list(None)
