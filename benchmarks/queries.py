"""The queries measured: the full selection, built from the schema itself so that a field added
later is measured too, and the selection a typical frontend (an inbox) asks for."""

import functools

import graphql

from app.config import Settings
from app.graphql.schema import build_schema

# An inbox's page: who and what, where it is in its process, its status, its data elements.
FRONTEND_PAGE = """
query Inbox($first: Int!) {
  instances(first: $first) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id appId lastChanged
      process { currentTask { elementId name } }
      status { isArchived isSoftDeleted isHardDeleted readStatus substatus { label description } }
      data { id dataType }
    }
  }
}
"""


@functools.cache
def schema() -> graphql.GraphQLSchema:
    """The gateway's schema as graphql-core reads its SDL (the same for any settings)."""
    return graphql.build_schema(build_schema(Settings(_env_file=None)).as_str())


def _selection(type_: graphql.GraphQLObjectType, path: tuple[str, ...]) -> list[str]:
    selected = []
    for name, definition in type_.fields.items():
        if any(graphql.is_required_argument(a) for a in definition.args.values()):
            continue
        named = graphql.get_named_type(definition.type)
        if isinstance(named, graphql.GraphQLObjectType):
            if named.name in path:
                continue
            selected.append(f"{name} {{ {' '.join(_selection(named, (*path, named.name)))} }}")
        else:
            selected.append(name)
    return selected


@functools.cache
def instance_fields() -> str:
    """Every field under Instance and the types under it (a type is not entered again below itself)."""
    instance = schema().get_type("Instance")
    if not isinstance(instance, graphql.GraphQLObjectType):
        raise RuntimeError("the schema has no Instance type")
    return " ".join(_selection(instance, ("Instance",)))


def full_page() -> str:
    """`instances(first: $first)`, every field of each instance, with cursors and page info."""
    return (
        "query FullPage($first: Int!) { instances(first: $first) "
        f"{{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {instance_fields()} }} }} }} }}"
    )


def full_instance() -> str:
    """`instance(id: $id)`, every field."""
    return f"query FullInstance($id: ID!) {{ instance(id: $id) {{ {instance_fields()} }} }}"


def _instance_selection(query: str) -> graphql.SelectionSetNode:
    """The selection on the instance(s) of a query: under `instance`, `nodes` or `edges.node`."""
    pending = [graphql.parse(query).definitions[0].selection_set]  # type: ignore[attr-defined]
    while pending:
        for field in pending.pop().selections:
            if not isinstance(field, graphql.FieldNode) or field.selection_set is None:
                continue
            if field.name.value in ("instance", "nodes", "node"):
                return field.selection_set
            pending.append(field.selection_set)
    raise ValueError("the query selects no instance")


def leaves(query: str) -> int:
    """How many leaf fields the query selects on each instance."""

    def count(selection_set: graphql.SelectionSetNode) -> int:
        return sum(
            1 if f.selection_set is None else count(f.selection_set)
            for f in selection_set.selections
            if isinstance(f, graphql.FieldNode)
        )

    return count(_instance_selection(query))


def top_level_fields(query: str) -> list[str]:
    """The instance fields the query selects; as stored fields (their GraphQL names are the
    documents' JSON names), the projection a hand-written reader would fetch."""
    return [f.name.value for f in _instance_selection(query).selections if isinstance(f, graphql.FieldNode)]
