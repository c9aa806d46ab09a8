"""Running a compiled plan for one request: the same reads as the resolvers (app/graphql/reads.py),
but for `instance(id)` with `events`, which may read the instance and its audit trail in one
query; then the generated functions turn the documents straight into the response, each root field
encoded as JSON (encoded.py). A page is taken one document at a time as the database sends it,
and each instance is encoded as soon as it is built, so that neither the page's documents nor
the objects built of them are ever all alive at once.

The one error it answers itself is the general executor's most common: `events` for someone
other than the app owner, FORBIDDEN, with null for that field only, in the general executor's
order (error_order.py). Any other error (a database failure, a refused argument, a stored value
that reads as an error) raises, and the general executor answers the request.
"""

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import ExecutionResult
from graphql.execution.values import VariableValues, get_argument_values
from strawberry import Schema
from strawberry.types.arguments import convert_arguments

from app.authorization.access import check_audit_trail
from app.context import Context
from app.errors import Forbidden
from app.graphql.compiled.codegen import Compiled
from app.graphql.compiled.encoded import EncodedJSON
from app.graphql.compiled.error_order import FieldError, ordered_errors
from app.graphql.compiled.leaves import int32
from app.graphql.compiled.plan import Connection, Edges, Nodes, PageInfo, Root, TotalCount, Typename
from app.graphql.inputs import plain_data
from app.graphql.reads import (
    count_instances,
    given_arguments,
    read_instance,
    read_instance_with_trail,
    stream_instances,
)
from app.graphql.types.instance import Instance
from app.store.commands import sending_for
from app.store.elements import element_matcher
from app.store.instances import Document, PageStream

_INSTANCE_ID = Instance.STORED["id"]
_INSTANCE_ORG = Instance.STORED["org"]

# Where an instance's audit trail goes, until the trails are read: a NUL byte, which orjson
# never writes otherwise (it escapes every control character in a string).
_HOLE = orjson.Fragment(b"\x00")

Parts = list[Any]  # bytes, and _EventsHole until the holes are filled


@dataclass
class _EventsHole:
    instance_id: str
    org: Any
    index: int  # of plan.events
    at: tuple[str | int, ...]  # the path of the instance
    encoded: bytes = b"null"


class Runtime:
    """What the generated functions of one request share: `rt` in their code."""

    def __init__(self, compiled: Compiled, context: Context) -> None:
        self.matchers: Sequence[Any] = ()  # for each `data` field: its filter, compiled, or None
        self.cursor_of: Callable[[Document], str] | None = None  # of the page being built
        self.errors: list[FieldError] = []
        self._compiled = compiled
        self._context = context
        self._holes: list[_EventsHole] = []
        self._placed = 0  # how many of the holes are in parts already
        self._trails: dict[str, list[Document]] = {}  # read with their instance (read_instance)

    async def prepare(self, schema: Schema, variable_values: VariableValues) -> None:
        """The filter of each `data` field, narrowed to what the caller may see, as the `data`
        resolver narrows it."""
        if not self._compiled.plan.data:
            return
        access = await self._context.access()
        matchers = []
        for data in self._compiled.plan.data:
            arguments = _arguments(schema, data, variable_values)
            element_filter = access.element_filter(plain_data(arguments.get("filter")))
            matchers.append(element_matcher(element_filter) if element_filter else None)
        self.matchers = tuple(matchers)

    def events(self, document: Document, index: int, at: tuple[str | int, ...]) -> orjson.Fragment:
        """A hole for this instance's audit trail: the trails of a page are read in one query
        once the page is built, when it is known which instances it holds."""
        self._holes.append(_EventsHole(_INSTANCE_ID(document), _INSTANCE_ORG(document), index, at))
        return _HOLE

    def encode(self, value: Any, parts: Parts) -> None:
        """Add the JSON of `value` to `parts`, with its holes in their places."""
        encoded = orjson.dumps(value)
        if self._placed == len(self._holes):
            parts.append(encoded)
            return
        pieces = encoded.split(b"\x00")
        parts.append(pieces[0])
        for piece in pieces[1:]:
            parts.append(self._holes[self._placed])
            parts.append(piece)
            self._placed += 1

    async def read_instance(self, root: Root, arguments: dict[str, Any]) -> Document | None:
        """`instance(id)`'s document. When `events` is selected by someone who may be the app
        owner, its audit trail comes in the same query; fill_events decides by the document
        whether the caller may read it."""
        if not (root.selects_events and self._context.caller.is_service_owner):
            return await read_instance(self._context, root.selections, **arguments)
        document, trail = await read_instance_with_trail(self._context, root.selections, **arguments)
        if document is not None and trail is not None:
            self._trails[_INSTANCE_ID(document)] = trail
        return document

    async def fill_events(self) -> None:
        """Each hole's audit trail, or null and FORBIDDEN: the trails the caller may read, in
        one query."""
        denied: dict[str, Forbidden] = {}
        wanted: dict[str, None] = {}
        for hole in self._holes:
            if hole.instance_id in denied or hole.instance_id in wanted:
                continue
            try:
                check_audit_trail(self._context.caller, instance_id=hole.instance_id, org=hole.org)
            except Forbidden as error:
                denied[hole.instance_id] = error
            else:
                wanted[hole.instance_id] = None
        unread = [i for i in wanted if i not in self._trails]
        trails = {**self._trails, **(await self._context.changes.events_of(unread) if unread else {})}
        for hole in self._holes:
            events = self._compiled.plan.events[hole.index]
            error = denied.get(hole.instance_id)
            if error is not None:
                self.errors.append(FieldError((*hole.at, events.key), events, error))
            else:
                item = self._compiled.event_items[hole.index]
                hole.encoded = orjson.dumps([item(e) for e in trails.get(hole.instance_id, ())])


def _filled(parts: Parts) -> EncodedJSON:
    return EncodedJSON([p if p.__class__ is bytes else p.encoded for p in parts])


def _arguments(schema: Schema, root_or_data: Any, variable_values: VariableValues) -> dict[str, Any]:
    """The arguments as the resolver gets them: coerced by graphql-core, converted by Strawberry."""
    raw = get_argument_values(root_or_data.field, root_or_data.node, variable_values)
    return convert_arguments(
        raw, root_or_data.arguments, scalar_registry=schema.schema_converter.scalar_registry, config=schema.config
    )


async def run(compiled: Compiled, schema: Schema, context: Context, variable_values: VariableValues) -> ExecutionResult:
    """The result of the plan; raises when the general executor must answer instead."""
    plan = compiled.plan
    runtime = Runtime(compiled, context)
    await runtime.prepare(schema, variable_values)
    result: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for root, build in zip(plan.roots, compiled.builders, strict=True):
        sending_for(root.key)
        if build is None:
            result[root.key] = root.result.name  # type: ignore[union-attr]: __typename
        elif isinstance(root.result, Connection):
            given = given_arguments(root.node, variable_values.coerced)
            arguments = _arguments(schema, root, variable_values)
            read = await stream_instances(context, root.selections, given=given, **arguments)
            lists, counts[root.key] = await _build_page(build, root.result, read.page, runtime)
            total = int32(await count_instances(context, read.instance_filter)) if root.result.counts else None
            result[root.key] = _connection(root.result, lists, read.page, total)
        else:
            document = await runtime.read_instance(root, _arguments(schema, root, variable_values))
            counts[root.key] = 1
            if document is None:
                result[root.key] = None
            else:
                parts: Parts = []
                with _no_collections():
                    runtime.encode(build(document, runtime, (root.key,)), parts)
                result[root.key] = parts
    sending_for(None)  # the audit trails of every root field, in one query
    await runtime.fill_events()
    data = {key: _filled(value) if isinstance(value, list) else value for key, value in result.items()}
    return ExecutionResult(data, ordered_errors(plan.roots, runtime.errors, counts) or None)


async def _build_page(
    build: Any, connection: Connection, page: PageStream | None, runtime: Runtime
) -> tuple[list[Parts], int]:
    """The encoded items of each list the connection selects (edges, nodes), and how many
    documents the page has."""
    lists: list[Parts] = [[] for f in connection.fields if isinstance(f, Edges | Nodes)]
    count = 0
    if page is None:
        return lists, count
    runtime.cursor_of = page.cursor_of
    async with contextlib.aclosing(page.batches()) as batches:
        async for batch in batches:
            with _no_collections():
                for document in batch:
                    for parts, item in zip(lists, build(document, count, runtime), strict=True):
                        if count:
                            parts.append(b",")
                        runtime.encode(item, parts)
                    count += 1
    return lists, count


def _connection(connection: Connection, lists: list[Parts], page: PageStream | None, total: int | None) -> Parts:
    """The connection's JSON around its lists, in the order of its fields."""
    parts: Parts = [b"{"]
    items = iter(lists)
    for n, f in enumerate(connection.fields):
        parts.append((b"," if n else b"") + orjson.dumps(f.key) + b":")
        if isinstance(f, Typename):
            parts.append(orjson.dumps(f.name))
        elif isinstance(f, TotalCount):
            parts.append(orjson.dumps(total))
        elif isinstance(f, PageInfo):
            values = {
                "hasNextPage": page is not None and page.has_next_page,
                "hasPreviousPage": page is not None and page.has_previous_page,
                "startCursor": None if page is None else page.start_cursor,
                "endCursor": None if page is None else page.end_cursor,
                "__typename": f.type_name,
            }
            parts.append(orjson.dumps({key: values[name] for key, name in f.fields}))
        else:
            parts.append(b"[")
            parts.extend(next(items))
            parts.append(b"]")
    parts.append(b"}")
    return parts


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """No garbage collection while a response is built: what it is built of is freed as it goes
    by reference counting, and what is built stays alive until it is sent, so a collection
    would free nothing, and a full one would walk every object of the page."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
