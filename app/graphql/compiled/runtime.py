"""Running a compiled plan for one request: the same reads as the resolvers (app/graphql/reads.py),
then the generated functions turn the documents straight into the response.

The one error it answers itself is the general executor's most common: `events` for someone
other than the app owner, FORBIDDEN, with null for that field only. The general executor reports
those errors in the order its asyncio tasks run them, which `_error_order` works out. Any other
error (a database failure, a refused argument, a stored value that reads as an error) raises,
and the general executor answers the request.
"""

import contextlib
import gc
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult, GraphQLError, located_error
from graphql.execution.values import VariableValues, get_argument_values
from strawberry import Schema
from strawberry.types.arguments import convert_arguments

from app.authorization.access import check_audit_trail
from app.errors import Forbidden
from app.graphql.compiled.codegen import Compiled
from app.graphql.compiled.leaves import Unsupported, int32
from app.graphql.compiled.plan import Connection, Edges, Events, Node, Nodes, ObjectSelection, Root, TotalCount
from app.graphql.context import Context
from app.graphql.inputs import plain_data
from app.graphql.reads import count_instances, read_instance, read_instances
from app.graphql.types.instance import Instance
from app.store.elements import element_matcher
from app.store.instances import Document, Page

_EMPTY_PAGE = Page(documents=[], cursors=[], has_next_page=False)
_INSTANCE_ID = Instance.STORED["id"]
_INSTANCE_ORG = Instance.STORED["org"]


@dataclass(frozen=True)
class _FieldError:
    path: tuple[str | int, ...]
    events: Events
    error: Exception


class Runtime:
    """What the generated functions of one request share: `rt` in their code."""

    def __init__(self, compiled: Compiled, context: Context) -> None:
        self.matchers: Sequence[Any] = ()  # for each `data` field: its filter, compiled, or None
        self.errors: list[_FieldError] = []
        self._compiled = compiled
        self._context = context
        self._denied: dict[str, Forbidden] = {}
        self._trails: dict[str, list[Document]] = {}

    async def prepare(self, schema: Schema, variable_values: VariableValues) -> None:
        """The filter of each `data` field, narrowed to what the caller may see, as the `data`
        resolver narrows it."""
        if len(self.matchers) == len(self._compiled.plan.data):
            return
        access = await self._context.access()
        matchers = []
        for data in self._compiled.plan.data:
            arguments = _arguments(schema, data, data.node, variable_values)
            element_filter = access.element_filter(plain_data(arguments.get("filter")))
            matchers.append(element_matcher(element_filter) if element_filter else None)
        self.matchers = tuple(matchers)

    async def load_events(self, documents: Sequence[Document]) -> None:
        """The audit trails of these instances that the caller may read, in one query."""
        wanted: list[str] = []
        for document in documents:
            instance_id = _INSTANCE_ID(document)
            if instance_id in self._trails or instance_id in self._denied:
                continue
            try:
                check_audit_trail(self._context.caller, instance_id=instance_id, org=_INSTANCE_ORG(document))
            except Forbidden as error:
                self._denied[instance_id] = error
            else:
                wanted.append(instance_id)
                self._trails[instance_id] = []
        if wanted:
            self._trails.update(await self._context.changes.events_of(wanted))

    def events(self, document: Document, index: int, at: tuple[str | int, ...]) -> list[Any] | None:
        instance_id = _INSTANCE_ID(document)
        events = self._compiled.plan.events[index]
        denied = self._denied.get(instance_id)
        if denied is not None:
            self.errors.append(_FieldError((*at, events.key), events, denied))
            return None
        item = self._compiled.event_items[index]
        return [item(e) for e in self._trails[instance_id]]


def _arguments(schema: Schema, root_or_data: Any, node: Any, variable_values: VariableValues) -> dict[str, Any]:
    """The arguments as the resolver gets them: coerced by graphql-core, converted by Strawberry."""
    raw = get_argument_values(root_or_data.field, node, variable_values)
    return convert_arguments(
        raw, root_or_data.arguments, scalar_registry=schema.schema_converter.scalar_registry, config=schema.config
    )


async def run(compiled: Compiled, schema: Schema, context: Context, variable_values: VariableValues) -> ExecutionResult:
    """The result of the plan; raises when the general executor must answer instead."""
    plan = compiled.plan
    runtime = Runtime(compiled, context)
    result: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for root, build in zip(plan.roots, compiled.builders, strict=True):
        if build is None:
            result[root.key] = root.result.name  # type: ignore[union-attr]: __typename
        elif isinstance(root.result, Connection):
            arguments = _arguments(schema, root, root.node, variable_values)
            read = await read_instances(context, root.selections, **arguments)
            total = int32(await count_instances(context, read.instance_filter)) if root.result.counts else None
            page = read.page or _EMPTY_PAGE
            if root.selects_events:
                await runtime.load_events(page.documents)
            counts[root.key] = len(page.documents)
            await runtime.prepare(schema, variable_values)
            with _no_collections():
                result[root.key] = build(page, total, runtime)
        else:
            document = await read_instance(
                context, root.selections, **_arguments(schema, root, root.node, variable_values)
            )
            if document is not None and root.selects_events:
                await runtime.load_events([document])
            counts[root.key] = 1
            await runtime.prepare(schema, variable_values)
            with _no_collections():
                result[root.key] = None if document is None else build(document, runtime, (root.key,))
    return ExecutionResult(result, _errors(plan.roots, runtime.errors, counts) or None)


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """No garbage collection while a response is built: everything it is built of stays alive
    until the response is sent, so a collection would free nothing, and a full one would walk
    every object of the page (on a page of 1,000, more than the whole build takes)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _errors(roots: Sequence[Root], errors: list[_FieldError], counts: Mapping[str, int]) -> list[GraphQLError]:
    if not errors:
        return []
    root_keys = {e.path[0] for e in errors}
    if len(root_keys) > 1:
        # Root fields run concurrently in the general executor, and the order of their errors
        # depends on when the database answers each.
        raise Unsupported("errors under more than one root field")
    [root] = [r for r in roots if r.key in root_keys]
    rank = _error_order(root, counts[root.key])
    try:
        ordered = sorted(errors, key=lambda e: rank[e.path])
    except KeyError:
        raise Unsupported("an error where none was foreseen") from None
    return [located_error(e.error, list(e.events.nodes), list(e.path)) for e in ordered]


# The general executor's asyncio work for one root field, as a tree: a list is a group of
# awaitables (gathered as tasks when two or more, awaited in place when one), a tuple a field
# resolved asynchronously: the path of an `events` field, or () for any other.
_Tree = list[Any] | tuple[str | int, ...]


def _instance_tree(selection: ObjectSelection, at: tuple[str | int, ...]) -> list[Any]:
    return [(*at, f.key) if isinstance(f, Events) else () for f in selection.awaited]


def _root_tree(root: Root, count: int) -> list[Any]:
    key = root.key
    if isinstance(root.result, ObjectSelection):
        return _instance_tree(root.result, (key,))
    assert isinstance(root.result, Connection)
    tree: list[Any] = []
    for f in root.result.fields:
        if isinstance(f, TotalCount):
            tree.append(())
        elif isinstance(f, Nodes):
            items = [t for i in range(count) if (t := _instance_tree(f.selection, (key, f.key, i)))]
            if items:
                tree.append(items)
        elif isinstance(f, Edges):
            edges = []
            for i in range(count):
                edge = [
                    t
                    for n in f.fields
                    if isinstance(n, Node)
                    if (t := _instance_tree(n.selection, (key, f.key, i, n.key)))
                ]
                if edge:
                    edges.append(edge)
            if edges:
                tree.append(edges)
    return tree


def _error_order(root: Root, count: int) -> dict[tuple[str | int, ...], int]:
    """The rank of each `events` path among the errors the general executor reports: graphql-core
    gathers two or more awaitables as tasks, which asyncio runs first come, first served, and
    awaits a single one in place; an `events` field fails as soon as its task first runs."""
    rank: dict[tuple[str | int, ...], int] = {}
    tasks: deque[_Tree] = deque()

    def run(tree: _Tree) -> None:
        if isinstance(tree, tuple):
            if tree:
                rank.setdefault(tree, len(rank))
        elif len(tree) == 1:
            run(tree[0])
        else:
            tasks.extend(tree)

    run(_root_tree(root, count))
    while tasks:
        run(tasks.popleft())
    return rank
