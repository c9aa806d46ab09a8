"""Every command the gateway and the CLI send to the database, recorded on either store: on a
wire-protocol server by PyMongo's command monitoring (what really goes on the wire), on the
embedded store by a wrapper around each collection (what would go). Either way a command becomes
one `Sent` per document filter it carries (an update command carries one for each of its
updates), in the wire protocol's terms, so that one rule judges both stores.

A command or method this module does not know is recorded as `unknown`, for the test to fail
on: a new kind of command must be taught here, and so judged, before it passes."""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

Document = dict[str, Any]


@dataclass(frozen=True)
class Sent:
    collection: str
    command: str  # find, aggregate, count, distinct, update, delete, findAndModify, insert, or bookkeeping
    filter: Document | None = None  # the documents the command is about (None: it names none)
    write: bool = False
    upsert: bool = False
    documents: tuple[Document, ...] = ()  # those it inserts


# Commands about no stored document: connections, cursors already opened, indexes, the stream.
BOOKKEEPING = frozenset(
    {
        "ping", "hello", "ismaster", "isMaster", "buildInfo", "endSessions", "getMore", "killCursors",
        "createIndexes", "listIndexes", "dropIndexes", "collMod", "changeStream", "count_estimate",
        "dropDatabase", "listCollections",
    }
)  # fmt: skip


def _aggregate(collection: str, pipeline: list[Document]) -> Sent:
    first = pipeline[0] if pipeline else {}
    if "$changeStream" in first:
        return Sent(collection, "changeStream")
    return Sent(collection, "aggregate", first.get("$match", {}))


def from_wire(command: Document) -> list[Sent]:
    """The `Sent` of one command as PyMongo sends it."""
    name = next(iter(command))
    target = command[name] if isinstance(command[name], str) else ""
    if name == "find":
        return [Sent(target, name, command.get("filter", {}))]
    if name == "aggregate":
        return [_aggregate(target, command["pipeline"])]
    if name in ("count", "distinct"):
        return [Sent(target, name, command.get("query", {}))]
    if name == "update":
        return [Sent(target, name, u["q"], write=True, upsert=bool(u.get("upsert"))) for u in command["updates"]]
    if name == "delete":
        return [Sent(target, name, d["q"], write=True) for d in command["deletes"]]
    if name == "findAndModify":
        return [Sent(target, name, command["query"], write=True, upsert=bool(command.get("upsert")))]
    if name == "insert":
        return [Sent(target, name, write=True, documents=tuple(command["documents"]))]
    return [Sent(target, name if name in BOOKKEEPING else f"unknown {name}")]


def _positional(args: tuple[Any, ...], kwargs: Document, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, {})


# The embedded store's collection methods, as the wire command PyMongo would send for each.
_READS = {"find": "find", "find_one": "find", "count_documents": "count"}
_WRITES = {
    "update_one": "update", "update_many": "update", "replace_one": "update",
    "delete_one": "delete", "delete_many": "delete", "find_one_and_update": "findAndModify",
}  # fmt: skip
_BOOKKEEPING_METHODS = {
    "create_index": "createIndexes", "drop_index": "dropIndexes", "drop_indexes": "dropIndexes",
    "index_information": "listIndexes", "list_indexes": "listIndexes",
    "estimated_document_count": "count_estimate",
}  # fmt: skip


def from_method(collection: str, method: str, args: tuple[Any, ...], kwargs: Document) -> list[Sent]:
    """The `Sent` of one call of a collection method of the embedded store."""
    if method in _READS:
        return [Sent(collection, _READS[method], _positional(args, kwargs, 0, "filter"))]
    if method == "distinct":
        return [Sent(collection, "distinct", _positional(args, kwargs, 1, "filter"))]
    if method == "aggregate":
        return [_aggregate(collection, _positional(args, kwargs, 0, "pipeline"))]
    if method in _WRITES:
        upsert = bool(kwargs.get("upsert"))
        return [Sent(collection, _WRITES[method], _positional(args, kwargs, 0, "filter"), write=True, upsert=upsert)]
    if method in ("insert_one", "insert_many"):
        documents = args[0] if method == "insert_many" else [args[0]]
        return [Sent(collection, "insert", write=True, documents=tuple(documents))]
    if method in _BOOKKEEPING_METHODS:
        return [Sent(collection, _BOOKKEEPING_METHODS[method])]
    return [Sent(collection, f"unknown {method}")]


class _RecordedCollection:
    """A collection of the embedded store whose every method call is recorded first."""

    def __init__(self, collection: Any, sent: list[Sent]) -> None:
        self._collection, self._sent = collection, sent

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self._sent.extend(from_method(self._collection.name, name, args, kwargs))
            return attribute(*args, **kwargs)

        return recorded


class _RecordedLevel:
    """A client (two levels above its collections) or a database (one level) of the embedded
    store, whose collections record their calls."""

    def __init__(self, inner: Any, sent: list[Sent], levels: int) -> None:
        self._inner, self._sent, self._levels = inner, sent, levels

    def __getitem__(self, name: str) -> Any:
        if self._levels == 1:
            return _RecordedCollection(self._inner[name], self._sent)
        return _RecordedLevel(self._inner[name], self._sent, self._levels - 1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class _Listener(monitoring.CommandListener):
    sent: list[Sent] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.extend(from_wire(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sent]]:
    """Within the block, every client the gateway and the CLI open (`app.store.database.connect`)
    records what it sends into the list given."""
    import mongomock_motor

    listener = _Listener()
    embedded_client = mongomock_motor.AsyncMongoMockClient

    def wire_client(*args: Any, **kwargs: Any) -> AsyncMongoClient:
        return AsyncMongoClient(*args, event_listeners=[listener], **kwargs)

    def mock_client(*args: Any, **kwargs: Any) -> _RecordedLevel:
        return _RecordedLevel(embedded_client(*args, **kwargs), listener.sent, levels=2)

    with monkeypatch.context() as patched:
        patched.setattr("app.store.database.AsyncMongoClient", wire_client)
        patched.setattr(mongomock_motor, "AsyncMongoMockClient", mock_client)
        yield listener.sent
