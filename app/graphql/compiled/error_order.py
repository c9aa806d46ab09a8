"""The order in which the general executor reports the errors of `events` fields, so that a
compiled answer lists them alike."""

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, located_error

from app.graphql.compiled.leaves import Unsupported
from app.graphql.compiled.plan import Connection, Edges, Events, Node, Nodes, ObjectSelection, Root, TotalCount


@dataclass(frozen=True)
class FieldError:
    path: tuple[str | int, ...]
    events: Events
    error: Exception


def ordered_errors(roots: Sequence[Root], errors: list[FieldError], counts: Mapping[str, int]) -> list[GraphQLError]:
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
