"""GraphQL requests generated from the schema the gateway serves (read by introspection, so
they follow every change to the API): queries and mutations with random fields, aliases,
arguments written inline or passed as variables (sometimes of the wrong type), inline and named
fragments, @include/@skip with literals or variables; broken ones (characters cut or
inserted, names that do not exist, nulls where a value is required); and hostile ones (empty
selection sets and fragments, fragments spreading the one before twice, values huge or nested
deep, several operations, too many aliases, a unique comment).
"""

import json
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_required_input_field,
)
from hypothesis import strategies as st

MAX_DEPTH = 4

# Values drawn from the demo data, so that some filters match and some mutations apply.
STRINGS = [
    "ttd",
    "ttd/skjema-a",
    "ttd/melding",
    "1337",
    "500000",
    "Task_1",
    "EndEvent_1",
    "default",
    "1337/bd9edd59-b18c-4726-aa9e-6b150eade814",
    "",
    "a.b*",
    "\u0000",
    "x" * 300,
]
DATES = ["2020-09-30", "2020-11-18T15:56:41.566Z", "2020-11-18T15:56:41+01:00", "not a date", "9999-12-31", ""]


class Operation:
    """One request being built: its text, the variables it declares and its named fragments."""

    def __init__(
        self, schema: GraphQLSchema, max_depth: int = MAX_DEPTH, well_typed: bool = False, ids: tuple[str, ...] = ()
    ) -> None:
        self.schema = schema
        self.declarations: list[str] = []
        self.variables: dict[str, Any] = {}
        self.fragments: list[str] = []
        self.max_depth = max_depth
        self.well_typed = well_typed
        self.ids = ids

    def variable(self, type_name: str, value: Any) -> str:
        name = f"v{len(self.declarations)}"
        self.declarations.append(f"${name}: {type_name}")
        self.variables[name] = value
        return f"${name}"

    def fragment(self, type_name: str, selection: str) -> str:
        name = f"F{len(self.fragments)}"
        self.fragments.append(f"fragment {name} on {type_name} {{ {selection} }}")
        return f"...{name}"


def _literal(value: Any, input_type: GraphQLInputType) -> str:
    """`value` (a JSON-like value) written as a GraphQL literal of this type."""
    named = get_named_type(input_type)
    if value is None:
        return "null"
    if isinstance(named, GraphQLEnumType) and isinstance(value, str):
        return value if value.isidentifier() else json.dumps(value)
    if isinstance(value, dict) and isinstance(named, GraphQLInputObjectType):
        return "{" + ", ".join(f"{k}: {_literal(v, named.fields[k].type)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        item_type = input_type.of_type if isinstance(input_type, GraphQLNonNull) else input_type
        item_type = item_type.of_type if isinstance(item_type, GraphQLList) else item_type
        return "[" + ", ".join(_literal(v, item_type) for v in value) + "]"
    return json.dumps(value)


def _values(
    input_type: GraphQLInputType, depth: int, well_typed: bool = False, ids: tuple[str, ...] = ()
) -> st.SearchStrategy[Any]:
    """JSON-like values of this input type; now and then one of another type, or null (unless
    `well_typed`: then only values that coerce, and small numbers). IDs are one of `ids` or of
    STRINGS."""
    if isinstance(input_type, GraphQLNonNull):
        value = _values(input_type.of_type, depth, well_typed, ids)
        return value if well_typed else st.one_of(value, value, value, value, value, st.none())
    if isinstance(input_type, GraphQLList):
        return st.lists(_values(input_type.of_type, depth + 1, well_typed, ids), max_size=3)
    if isinstance(input_type, GraphQLEnumType):
        return st.sampled_from([*input_type.values, *([] if well_typed else ["NOT_A_VALUE"])])
    if isinstance(input_type, GraphQLInputObjectType):
        if depth > MAX_DEPTH:
            return st.just({})
        # Built for the chosen fields only: filters nest (and/or/not), so building every
        # field's strategy ahead would grow exponentially with the depth.
        names = sorted(input_type.fields)
        required = [n for n in names if well_typed and is_required_input_field(input_type.fields[n])]
        return st.lists(st.sampled_from(names), unique=True, max_size=4).flatmap(
            lambda chosen: st.fixed_dictionaries(
                {
                    name: _values(input_type.fields[name].type, depth + 1, well_typed, ids)
                    for name in [*required, *(c for c in chosen if c not in required)]
                }
            )
        )
    by_scalar = {
        "String": st.one_of(st.sampled_from(STRINGS), st.text(max_size=12)),
        "ID": st.sampled_from([*ids, *STRINGS]),
        "Int": st.integers(0, 150) if well_typed else st.one_of(st.integers(-5, 1200), st.integers(-(2**40), 2**40)),
        "Boolean": st.booleans(),
        "DateTime": st.sampled_from(DATES[:3] if well_typed else DATES),
    }
    return by_scalar.get(input_type.name, st.sampled_from(STRINGS))


@st.composite
def _arguments(draw: st.DrawFn, operation: Operation, arguments: dict[str, Any]) -> str:
    written = []
    for name, argument in arguments.items():
        required = isinstance(argument.type, GraphQLNonNull)
        if not required and (draw(st.booleans()) or (operation.well_typed and name in ("after", "before"))):
            continue  # a well-typed cursor would still be no cursor
        if operation.well_typed and name == "last" and any(w.startswith("first:") for w in written):
            continue  # a page is read forward or backward
        value = draw(_values(argument.type, 0, operation.well_typed, operation.ids))
        if draw(st.booleans()):
            wrong = not operation.well_typed and draw(st.integers(0, 9)) == 0
            type_name = "String" if wrong else str(argument.type)  # sometimes the wrong type
            written.append(f"{name}: {operation.variable(type_name, value)}")
        else:
            written.append(f"{name}: {_literal(value, argument.type)}")
    return f"({', '.join(written)})" if written else ""


@st.composite
def _directive(draw: st.DrawFn, operation: Operation) -> str:
    choice = draw(st.sampled_from(["", "", "", "literal", "literal", "variable"]))
    if choice == "literal":
        return draw(st.sampled_from([" @include(if: true)", " @skip(if: false)", " @skip(if: true)"]))
    if choice == "variable":
        name = draw(st.sampled_from(["include", "skip"]))
        return f" @{name}(if: {operation.variable('Boolean!', draw(st.booleans()))})"
    return ""


@st.composite
def _selection(
    draw: st.DrawFn, operation: Operation, object_type: GraphQLObjectType | GraphQLInterfaceType, depth: int
) -> str:
    names = sorted(object_type.fields)
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    parts = []
    for name in chosen:
        field = object_type.fields[name]
        target = get_named_type(field.type)
        if isinstance(target, GraphQLObjectType | GraphQLInterfaceType) and depth >= operation.max_depth:
            continue
        alias = f"a{draw(st.integers(0, 3))}_{name}: " if draw(st.integers(0, 4)) == 0 else ""
        text = f"{alias}{name}{draw(_arguments(operation, field.args))}{draw(_directive(operation))}"
        if isinstance(target, GraphQLObjectType | GraphQLInterfaceType):
            inner = draw(_selection(operation, target, depth + 1))
            if isinstance(target, GraphQLInterfaceType):  # and the fields of one of its types
                implementation = draw(st.sampled_from(operation.schema.get_possible_types(target)))
                inner += f" ... on {implementation.name} {{ {draw(_selection(operation, implementation, depth + 1))} }}"
            wrap = draw(st.integers(0, 9))
            if wrap == 0:
                inner = f"... on {target.name} {{ {inner} }}"
            elif wrap == 1:
                inner = operation.fragment(target.name, inner) + draw(_directive(operation))
            text += f" {{ {inner} }}"
        parts.append(text)
    if draw(st.integers(0, 5)) == 0:
        parts.append("__typename")
    return " ".join(parts) or "__typename"


@st.composite
def operations(
    draw: st.DrawFn,
    schema: GraphQLSchema,
    *,
    mutations: bool = True,
    max_depth: int = MAX_DEPTH,
    well_typed: bool = False,
    ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A valid request: an operation (a mutation one time in four, if allowed) and its variables,
    which with `well_typed` all coerce; `ids` are instance ids to ask for."""
    root = schema.mutation_type if mutations and draw(st.integers(0, 3)) == 0 else schema.query_type
    assert root is not None
    operation = Operation(schema, max_depth, well_typed, ids)
    selection = draw(_selection(operation, root, 0))
    keyword = "mutation" if root is schema.mutation_type else "query"
    declared = f"({', '.join(operation.declarations)})" if operation.declarations else ""
    text = " ".join([f"{keyword} Fuzz{declared} {{ {selection} }}", *operation.fragments])
    return {"query": text, "variables": operation.variables}


@st.composite
def broken(draw: st.DrawFn, request: dict[str, Any]) -> dict[str, Any]:
    """The request with its text or variables damaged."""
    text = request["query"]
    damage = draw(st.sampled_from(["cut", "insert", "rename", "variables"]))
    if damage == "cut":
        start = draw(st.integers(0, len(text)))
        return {**request, "query": text[:start] + text[start + draw(st.integers(1, 20)) :]}
    if damage == "insert":
        at = draw(st.integers(0, len(text)))
        return {
            **request,
            "query": text[:at] + draw(st.sampled_from(["{", "}", "(", "$", '"', "@", "...", "\\u"])) + text[at:],
        }
    if damage == "rename":
        return {**request, "query": text.replace("{ ", "{ noSuchField ", 1)}
    return {**request, "variables": draw(st.one_of(st.none(), st.lists(st.integers()), st.just({"v0": {"x": [1]}})))}


def _emptied(text: str, at: int) -> str:
    """`text` with the selection set opening at or after `at` emptied (`{ }`)."""
    start = text.find("{", at)
    if start < 0:
        return text
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[: start + 1] + " " + text[end:]
    return text


def fragment_chain(levels: int, on: str, selection: str) -> str:
    """Fragments F0..F`levels`, each spreading the one before twice: 2**levels copies of `selection`."""
    fragments = [f"fragment F0 on {on} {{ {selection} }}"]
    fragments += [f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return " ".join(fragments)


@st.composite
def hostile(draw: st.DrawFn, request: dict[str, Any]) -> dict[str, Any]:
    """The request, or a document, shaped to cost the gateway: every shape an issue found."""
    text = request["query"]
    shape = draw(
        st.sampled_from(["empty", "empty fragment", "chain", "huge", "deep", "aliases", "operations", "comment"])
    )
    if shape == "empty":
        return {**request, "query": _emptied(text, draw(st.integers(0, len(text))))}
    if shape == "empty fragment":
        return {**request, "query": text.replace("{ ", "{ ...Empty ", 1) + " fragment Empty on Query { }"}
    if shape == "chain":
        levels = draw(st.integers(1, 45))
        if draw(st.booleans()):
            operation, fragments = f"{{ ...F{levels} }}", fragment_chain(levels, "Query", "__typename")
        else:
            leaf = draw(st.sampled_from(["id", "a: id", "process { currentTask { elementId } }"]))
            operation, fragments = (
                f"{{ instances {{ nodes {{ ...F{levels} }} }} }}",
                fragment_chain(levels, "Instance", leaf),
            )
        return {"query": f"{operation} {fragments}"}
    if shape == "huge":
        value = draw(st.sampled_from(["x" * 500_000, 2**70, -(2**70), 1e308, [[[[[[[[["x"]]]]]]]]], {"x": "y" * 1000}]))
        literal = draw(
            st.sampled_from(["99999999999999999999999", '"' + "x" * 100_000 + '"', "1e999", "[[[[[[1]]]]]]"])
        )
        variables = dict.fromkeys(request["variables"], value)
        return {**request, "variables": variables, "query": text.replace("first: ", f"first: {literal} x: ", 1)}
    if shape == "deep":
        levels = draw(st.integers(10, 300))
        return {
            "query": "{ instances { nodes { "
            + "process { currentTask { " * levels
            + "elementId"
            + " } }" * levels
            + " } } }"
        }
    if shape == "aliases":
        count = draw(st.integers(15, 400))
        return {"query": "{ " + " ".join(f"a{i}: instances {{ totalCount }}" for i in range(count)) + " }"}
    if shape == "operations":
        second = "query Other { __typename }" if draw(st.booleans()) else "mutation Other { __typename }"
        name = draw(st.sampled_from([None, "Fuzz", "Other", "Unknown"]))
        return {**request, "query": f"{text} {second}", **({"operationName": name} if name else {})}
    return {**request, "query": f"# {draw(st.text(max_size=20))}\n{text}"}


def requests(schema: GraphQLSchema, *, mutations: bool = True, max_depth: int = MAX_DEPTH) -> st.SearchStrategy[Any]:
    """Valid requests, broken ones and hostile ones, about two, two and one in five."""
    valid = operations(schema, mutations=mutations, max_depth=max_depth)
    return st.one_of(valid, valid, valid.flatmap(broken), valid.flatmap(broken), valid.flatmap(hostile))
