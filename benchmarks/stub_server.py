"""A MongoDB wire-protocol stub that answers every `find` at once: a database that costs about
nothing, so that what the gateway itself costs shows in a benchmark.

Run it alone with `python -m benchmarks.stub_server [--port N]`; it prints
`stub server listening on mongodb://127.0.0.1:PORT/` and serves until it is stopped.
`benchmarks.processes.stub_process()` runs it as a subprocess for a `with` block.

What it does:

- Speaks OP_MSG (document sequences included, checksums skipped, `moreToCome` answered with
  silence) and the legacy OP_QUERY handshake (`isMaster`/`hello` on `admin.$cmd`, answered with
  OP_REPLY) that PyMongo before 4.14 sends first; PyMongo 4.14 and later handshake with OP_MSG.
  It presents itself as a standalone MongoDB 7.0 (wire version 21) with sessions, so PyMongo
  attaches `lsid`s, which it ignores, and ends them with `endSessions`.
- Keeps documents in memory per database and collection, in the order they were first written,
  as the BSON bytes the client sent (nothing is decoded and encoded again, so every value comes
  back exactly as it went in; `_id` is added when a document has none). A document's key is its
  `id` field, else its `_id`; an upsert whose filter has no `id` is keyed by the filter's
  top-level values.
- `insert`; `update` of whole documents (a replacement, upserted when asked) matched by the
  filter's `id` as `find` does, which is what `instance-gateway import` sends (a bulk of
  `ReplaceOne(upsert=True)` by id); `delete`; `drop`, `dropDatabase`.
- `find`: a filter is ignored, except `id` equal to a value or `{$eq: v}` or `{$in: [...]}`,
  at the top level or in a top-level `$and`, which picks those documents. The documents come in
  stored order (`sort` is ignored), after `skip`, at most `limit` (a negative limit: one
  batch). `projection` by top-level field: inclusion (`{a: 1, "b.c": 1}` includes `a` and all of
  `b`), exclusion (`{a: 0}`), and `_id: 0`. The first batch holds `batchSize` documents (101
  by default, as MongoDB), later ones `batchSize` or up to 16 MiB; the rest waits under a cursor
  id for `getMore`; `killCursors` forgets it. Each projection of a collection is built once and
  kept until the collection changes, so answering a `find` costs a list slice and one copy of
  the bytes.
- `count` and the `aggregate` that `count_documents` sends (`$match`, `$skip`, `$limit`, then
  `$group` with `{$sum: 1}`): the number of documents the filter picks as above.
- the `aggregate` of an instance with its audit trail (`$match`, `$limit`, `$project`, then
  `$lookup` with `localField` and `foreignField`): the documents `find` would pick, each with
  the documents of the other collection whose field equals its own (compared in Python).
- `hello`/`isMaster`/`ismaster`, `ping`, `buildInfo`, `endSessions`, `createIndexes` and
  `dropIndexes` (accepted and ignored), `listIndexes` (the `_id` index alone), `listCollections`.

What it does not do: evaluate filters (a read restriction, `$or`, ranges, keyset cursors'
`after` positions), sort, update with operators (`$set`, `$push`, ...; answered with an error,
so the gateway's mutations fail on it), `findAndModify`, other aggregations, indexes,
uniqueness, authentication, TLS, compression, transactions, write concerns, `maxTimeMS`,
persistence. Any other command is answered with `CommandNotFound` (code 59). It is a benchmark
tool: load it with data that the caller may read all of, in the order the query asks for.
"""

import argparse
import asyncio
import contextlib
import itertools
import random
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
CHECKSUM_PRESENT, MORE_TO_COME = 1 << 0, 1 << 1
MAX_BSON_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48_000_000
MAX_BATCH_BYTES = MAX_BSON_SIZE  # MongoDB's cap of one batch of a cursor
DEFAULT_FIRST_BATCH = 101
# Commands are read lazily: nested documents stay BSON bytes until a value is asked for.
RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True, datetime_conversion=DatetimeConversion.DATETIME_AUTO)
_HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")

Element = tuple[str, bytes]  # a top-level field's name and its whole BSON element (type, name, value)
Reply = dict[str, Any]


class CommandError(Exception):
    def __init__(self, message: str, code: int = 2, code_name: str = "BadValue") -> None:
        super().__init__(message)
        self.code, self.code_name = code, code_name


# ---------------------------------------------------------------------------------------------
# BSON documents as lists of top-level elements, so that a projection is a matter of slicing


_FIXED_SIZES = {0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16}
_FIXED_SIZES |= {0x7F: 0, 0xFF: 0}


def _value_size(raw: bytes, kind: int, at: int) -> int:
    if kind in _FIXED_SIZES:
        return _FIXED_SIZES[kind]
    if kind in (0x02, 0x0D, 0x0E):  # string, code, symbol: int32 length, then the bytes
        return 4 + _INT32.unpack_from(raw, at)[0]
    if kind in (0x03, 0x04, 0x0F):  # document, array, code with scope: the length includes itself
        return _INT32.unpack_from(raw, at)[0]
    if kind == 0x05:  # binary: int32 length, subtype, bytes
        return 5 + _INT32.unpack_from(raw, at)[0]
    if kind == 0x0B:  # regular expression: two C strings
        return raw.index(b"\x00", raw.index(b"\x00", at) + 1) + 1 - at
    if kind == 0x0C:  # DBPointer: a string and an ObjectId
        return 4 + _INT32.unpack_from(raw, at)[0] + 12
    raise CommandError(f"unknown BSON type 0x{kind:02x}")


def elements(raw: bytes) -> list[Element]:
    """The top-level elements of a BSON document, as byte slices."""
    found: list[Element] = []
    at, end = 4, len(raw) - 1
    while at < end:
        name_end = raw.index(b"\x00", at + 1)
        value_end = name_end + 1 + _value_size(raw, raw[at], name_end + 1)
        found.append((raw[at + 1 : name_end].decode(), raw[at:value_end]))
        at = value_end
    return found


def document(parts: list[Element]) -> RawBSONDocument:
    body = b"".join(element for _, element in parts)
    return RawBSONDocument(_INT32.pack(len(body) + 5) + body + b"\x00", RAW)


ProjectionKey = tuple[bool, frozenset[str], bool]  # (inclusion?, top-level fields, _id included?)


def projection_key(projection: Any) -> ProjectionKey:
    if not projection:
        return (False, frozenset(), True)
    spec = dict(projection.items())
    with_id = bool(spec.pop("_id", True))
    included = {name.split(".")[0] for name, value in spec.items() if not isinstance(value, int | float) or value}
    if included:
        return (True, frozenset(included), with_id)
    return (False, frozenset(name.split(".")[0] for name in spec), with_id)


def project(parts: list[Element], key: ProjectionKey) -> RawBSONDocument:
    inclusion, fields, with_id = key
    return document(
        [(name, element) for name, element in parts if (with_id if name == "_id" else (name in fields) == inclusion)]
    )


# ---------------------------------------------------------------------------------------------
# The data


class Collection:
    def __init__(self) -> None:
        self.documents: dict[Any, list[Element]] = {}  # by key, in the order first written
        self._views: dict[ProjectionKey, dict[Any, RawBSONDocument]] = {}

    def changed(self) -> None:
        self._views.clear()

    def view(self, key: ProjectionKey) -> dict[Any, RawBSONDocument]:
        """Every document under this projection, built once per change of the collection."""
        if key not in self._views:
            self._views[key] = {k: project(parts, key) for k, parts in self.documents.items()}
        return self._views[key]

    def keys(self, selector: Any) -> list[Any]:
        """The keys of the documents a filter picks: those of its `id`, or all."""
        ids = _ids(selector)
        return list(self.documents) if ids is None else [i for i in ids if i in self.documents]

    def pick(self, selector: Any, key: ProjectionKey) -> list[RawBSONDocument]:
        view, ids = self.view(key), _ids(selector)
        if ids is None:
            return list(view.values())
        return [view[i] for i in ids if i in view]

    def put(self, raw: bytes, key: Any = None) -> bool:
        """Insert or replace whole, `_id` first; True when it replaced one. Its key: `key`, else
        its `id`, else its `_id`. A replacement keeps the `_id` of the document it replaces."""
        named = dict(elements(bytes(raw)))  # a nested document's raw is a memoryview
        if key is None and "id" in named:
            key = _value(named["id"])
        old = self.documents.get(key)
        _id = old[0][1] if old is not None else named.get("_id", b"\x07_id\x00" + ObjectId().binary)
        named.pop("_id", None)
        self.documents[_value(_id) if key is None else key] = [("_id", _id), *named.items()]
        self.changed()
        return old is not None


def _value(element: bytes) -> Any:
    """The value of one element (a hashable one for keys)."""
    value = bson.decode(_INT32.pack(len(element) + 5) + element + b"\x00", RAW)
    value = next(iter(value.values()))
    return bytes(value.raw) if isinstance(value, RawBSONDocument) else value


def _ids(selector: Any) -> list[Any] | None:
    """The `id`s a filter names by equality or `$in`, at its top or in a top-level `$and`; None
    for any other filter (which the stub does not evaluate: it picks every document)."""
    if not selector:
        return None
    clauses = [selector, *(selector.get("$and") or [])]
    for clause in clauses:
        if "id" not in clause:
            continue
        condition = clause["id"]
        if not isinstance(condition, RawBSONDocument):
            return [condition]
        if "$eq" in condition:
            return [condition["$eq"]]
        if "$in" in condition:
            return list(dict.fromkeys(v for v in condition["$in"] if not isinstance(v, RawBSONDocument)))
    return None


# ---------------------------------------------------------------------------------------------
# Commands


class StubServer:
    def __init__(self) -> None:
        self.databases: dict[str, dict[str, Collection]] = {}
        self.cursors: dict[int, tuple[str, list[RawBSONDocument]]] = {}
        self._connections = itertools.count(1)
        self._server: asyncio.Server | None = None
        self.commands: dict[str, Callable[[str, Any], Reply]] = {
            "hello": self._hello,
            "isMaster": self._hello,
            "ismaster": self._hello,
            "ping": lambda db, cmd: {},
            "buildInfo": self._build_info,
            "buildinfo": self._build_info,  # PyMongo's server_info() spells it so
            "endSessions": lambda db, cmd: {},
            "createIndexes": lambda db, cmd: {"numIndexesBefore": 1, "numIndexesAfter": 1},
            "dropIndexes": lambda db, cmd: {},
            "listIndexes": self._list_indexes,
            "listCollections": self._list_collections,
            "insert": self._insert,
            "update": self._update,
            "delete": self._delete,
            "drop": self._drop,
            "dropDatabase": self._drop_database,
            "find": self._find,
            "getMore": self._get_more,
            "killCursors": self._kill_cursors,
            "count": lambda db, cmd: {"n": len(self._collection(db, cmd["count"]).keys(cmd.get("query")))},
            "aggregate": self._aggregate,
        }

    def _collection(self, db: str, name: str) -> Collection:
        return self.databases.setdefault(db, {}).setdefault(name, Collection())

    def run(self, command: Any) -> Reply:
        """One command (a RawBSONDocument) to its reply, `ok` included."""
        name = next(iter(command.keys()))
        handler = self.commands.get(name)
        try:
            if handler is None:
                raise CommandError(f"no such command: '{name}' (the benchmark stub answers few)", 59, "CommandNotFound")
            return {**handler(command.get("$db", "admin"), command), "ok": 1.0}
        except CommandError as error:
            return {"ok": 0.0, "errmsg": str(error), "code": error.code, "codeName": error.code_name}
        except Exception as error:  # a command the stub misreads: an answer, not a dropped connection
            return {"ok": 0.0, "errmsg": f"benchmark stub: {error!r}", "code": 1, "codeName": "InternalError"}

    def _hello(self, db: str, command: Any) -> Reply:
        return {
            "helloOk": True,
            "ismaster": True,
            "isWritablePrimary": True,
            "maxBsonObjectSize": MAX_BSON_SIZE,
            "maxMessageSizeBytes": MAX_MESSAGE_SIZE,
            "maxWriteBatchSize": 100_000,
            "localTime": datetime.now(UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": next(self._connections),
            "minWireVersion": 0,
            "maxWireVersion": 21,
            "readOnly": False,
        }

    def _build_info(self, db: str, command: Any) -> Reply:
        return {"version": "7.0.0", "versionArray": [7, 0, 0, 0], "maxBsonObjectSize": MAX_BSON_SIZE}

    def _list_indexes(self, db: str, command: Any) -> Reply:
        ns = f"{db}.{command['listIndexes']}"
        return {"cursor": {"firstBatch": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}], "id": Int64(0), "ns": ns}}

    def _list_collections(self, db: str, command: Any) -> Reply:
        batch = [{"name": n, "type": "collection", "options": {}} for n in self.databases.get(db, {})]
        return {"cursor": {"firstBatch": batch, "id": Int64(0), "ns": f"{db}.$cmd.listCollections"}}

    def _insert(self, db: str, command: Any) -> Reply:
        collection = self._collection(db, command["insert"])
        for each in command["documents"]:
            collection.put(each.raw)
        return {"n": len(command["documents"])}

    def _update(self, db: str, command: Any) -> Reply:
        collection = self._collection(db, command["update"])
        matched = modified = 0
        upserted = []
        for index, statement in enumerate(command["updates"]):
            replacement, selector = statement["u"], statement["q"]
            if not isinstance(replacement, RawBSONDocument) or any(k.startswith("$") for k in replacement):
                raise CommandError("the benchmark stub replaces whole documents only: no update operators")
            ids = _ids(selector)
            key = ids[0] if ids and len(ids) == 1 else tuple(sorted((k, str(v)) for k, v in selector.items()))
            if key not in collection.documents and not statement.get("upsert"):
                continue
            if collection.put(replacement.raw, key):
                matched, modified = matched + 1, modified + 1
            else:
                upserted.append({"index": index, "_id": _value(collection.documents[key][0][1])})
        return {"n": matched + len(upserted), "nModified": modified, **({"upserted": upserted} if upserted else {})}

    def _delete(self, db: str, command: Any) -> Reply:
        collection = self._collection(db, command["delete"])
        removed = 0
        for statement in command["deletes"]:
            keys = collection.keys(statement["q"])
            for key in keys[:1] if statement.get("limit") == 1 else keys:
                del collection.documents[key]
                removed += 1
        collection.changed()
        return {"n": removed}

    def _drop(self, db: str, command: Any) -> Reply:
        if self.databases.get(db, {}).pop(command["drop"], None) is None:
            raise CommandError("ns not found", 26, "NamespaceNotFound")
        return {}

    def _drop_database(self, db: str, command: Any) -> Reply:
        self.databases.pop(db, None)
        return {}

    def _find(self, db: str, command: Any) -> Reply:
        name = command["find"]
        found = self._collection(db, name).pick(command.get("filter"), projection_key(command.get("projection")))
        found = found[int(command.get("skip") or 0) :]
        limit = int(command.get("limit") or 0)
        if limit:
            found = found[: abs(limit)]
        single = limit < 0 or bool(command.get("singleBatch"))
        if single:
            return {"cursor": {"firstBatch": found, "id": Int64(0), "ns": f"{db}.{name}"}}
        return self._batch(f"{db}.{name}", found, command.get("batchSize", DEFAULT_FIRST_BATCH), "firstBatch")

    def _get_more(self, db: str, command: Any) -> Reply:
        cursor_id = int(command["getMore"])
        if cursor_id not in self.cursors:
            raise CommandError(f"cursor id {cursor_id} not found", 43, "CursorNotFound")
        ns, rest = self.cursors.pop(cursor_id)
        return self._batch(ns, rest, command.get("batchSize", len(rest)), "nextBatch")

    def _batch(self, ns: str, found: list[RawBSONDocument], size: int, name: str) -> Reply:
        """The first `size` documents (and at most MAX_BATCH_BYTES of them, but one at least);
        the rest under a new cursor id."""
        count, total = 0, 0
        for each in found[:size]:
            total += len(each.raw)
            if total > MAX_BATCH_BYTES and count:
                break
            count += 1
        cursor_id = 0
        if count < len(found):
            cursor_id = random.randrange(1, 2**62)
            self.cursors[cursor_id] = (ns, found[count:])
        return {"cursor": {name: found[:count], "id": Int64(cursor_id), "ns": ns}}

    def _kill_cursors(self, db: str, command: Any) -> Reply:
        ids = [int(i) for i in command["cursors"]]
        killed = [i for i in ids if self.cursors.pop(i, None) is not None]
        unknown = [Int64(i) for i in ids if i not in killed]
        return {"cursorsKilled": [Int64(i) for i in killed], "cursorsNotFound": unknown, "cursorsAlive": []}

    def _aggregate(self, db: str, command: Any) -> Reply:
        """`count_documents`: [$match, $skip?, $limit?, $group {_id: 1, n: {$sum: 1}}]; or a
        lookup: [$match, $limit?, $project?, $lookup]."""
        stages = [next(iter(s.items())) for s in command["pipeline"]]
        if stages and stages[-1][0] == "$lookup":
            return self._lookup(db, command["aggregate"], dict(stages))
        if not stages or stages[-1][0] != "$group":
            raise CommandError("the benchmark stub aggregates counts only", 59, "CommandNotFound")
        selector = next((spec for op, spec in stages if op == "$match"), None)
        count = len(self._collection(db, command["aggregate"]).keys(selector))
        for op, spec in stages:
            count = max(0, count - int(spec)) if op == "$skip" else min(count, int(spec)) if op == "$limit" else count
        field = next(k for k in stages[-1][1] if k != "_id")
        batch = [{"_id": 1, field: count}] if count else []
        return {"cursor": {"firstBatch": batch, "id": Int64(0), "ns": f"{db}.{command['aggregate']}"}}

    def _lookup(self, db: str, name: str, stages: dict[str, Any]) -> Reply:
        found = self._collection(db, name).pick(stages.get("$match"), projection_key(stages.get("$project")))
        found = found[: int(stages.get("$limit") or len(found))]
        spec = stages["$lookup"]
        others = self._collection(db, spec["from"]).pick(None, projection_key(None))
        local, foreign = spec["localField"], spec["foreignField"]
        joined = [{**dict(d.items()), spec["as"]: [o for o in others if o.get(foreign) == d.get(local)]} for d in found]
        return {"cursor": {"firstBatch": joined, "id": Int64(0), "ns": f"{db}.{name}"}}

    # -----------------------------------------------------------------------------------------
    # The wire

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; the port it listens on."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_MESSAGE_SIZE)
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length, request_id, _, opcode = _HEADER.unpack(await reader.readexactly(16))
                message = await reader.readexactly(length - 16)
                if opcode == OP_MSG:
                    flags, reply = self._op_msg(message)
                    if flags & MORE_TO_COME:
                        continue
                    body = b"\x00\x00\x00\x00\x00" + bson.encode(reply)  # flags, then a kind 0 section
                elif opcode == OP_QUERY:
                    opcode, body = OP_REPLY, self._op_query(message)
                else:
                    break  # OP_COMPRESSED and the long-gone legacy opcodes: not spoken here
                writer.write(_HEADER.pack(16 + len(body), request_id, request_id, opcode) + body)
                await writer.drain()
        writer.close()

    def _op_msg(self, message: bytes) -> tuple[int, Reply]:
        (flags,) = struct.unpack_from("<I", message)
        end = len(message) - (4 if flags & CHECKSUM_PRESENT else 0)
        at, body, sequences = 4, b"", {}
        while at < end:
            kind, at = message[at], at + 1
            size = _INT32.unpack_from(message, at)[0]
            if kind == 0:
                body = message[at : at + size]
            else:  # a document sequence: its size, its identifier, then documents
                name_end = message.index(b"\x00", at + 4)
                documents, position = [], name_end + 1
                while position < at + size:
                    length = _INT32.unpack_from(message, position)[0]
                    documents.append(RawBSONDocument(message[position : position + length], RAW))
                    position += length
                sequences[message[at + 4 : name_end].decode()] = documents
            at += size
        command = RawBSONDocument(body, RAW)
        if sequences:
            command = _Command(command, sequences)
        return flags, self.run(command)

    def _op_query(self, message: bytes) -> bytes:
        """The legacy handshake: a command on `admin.$cmd`, answered with OP_REPLY."""
        name_end = message.index(b"\x00", 4)
        query = RawBSONDocument(message[name_end + 9 :][: _INT32.unpack_from(message, name_end + 9)[0]], RAW)
        if "$query" in query:
            query = query["$query"]
        reply = self.run(query) if next(iter(query.keys())) in ("isMaster", "ismaster", "hello") else None
        if reply is None:
            reply = {"ok": 0.0, "errmsg": "OP_QUERY is for the handshake only", "code": 352, "codeName": "Unsupported"}
        return struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(reply)


class _Command:
    """A command whose arguments came partly as OP_MSG document sequences."""

    def __init__(self, body: RawBSONDocument, sequences: dict[str, list[RawBSONDocument]]) -> None:
        self._body, self._sequences = body, sequences

    def keys(self) -> Any:
        return self._body.keys()

    def __getitem__(self, name: str) -> Any:
        return self._sequences[name] if name in self._sequences else self._body[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._sequences[name] if name in self._sequences else self._body.get(name, default)


# ---------------------------------------------------------------------------------------------
# Running it

READY = "stub server listening on "  # and its URL: the first line it prints


async def _main(host: str, port: int) -> None:
    server = StubServer()
    port = await server.start(host, port)
    print(f"{READY}mongodb://{host}:{port}/", flush=True)
    await server.serve_forever()  # until SIGTERM ends the process: it keeps nothing worth a cleanup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.host, args.port))


if __name__ == "__main__":
    main()
