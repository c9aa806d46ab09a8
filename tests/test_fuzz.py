"""Generated GraphQL requests, valid and broken, never make the gateway fail.

The generator reads the schema the gateway serves (by introspection), so it follows every
change to the API. It builds operations from it: queries and mutations with random fields,
aliases, arguments written inline or passed as variables (sometimes of the wrong type),
fragments and @include/@skip; then it breaks some of them (characters cut or inserted, names
that do not exist, nulls where a value is required). Each request goes over HTTP, as a service
owner or an end user, against the demo data. The answer must never be a 5xx nor carry
INTERNAL_SERVER_ERROR, and every error must carry a code.
"""

import asyncio
import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    get_introspection_query,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Store, org_token, running_gateway, user_token

DEMO = files("app") / "demo"
EXAMPLES_PER_CALLER = 120
MAX_DEPTH = 4
CALLERS: dict[str, Callable[[], str]] = {
    "service owner": lambda: org_token("ttd"),
    "end user": lambda: user_token("1", "1", auth_level=2),
}

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
    """One request being built: its text, and the variables it declares."""

    def __init__(self) -> None:
        self.declarations: list[str] = []
        self.variables: dict[str, Any] = {}

    def variable(self, type_name: str, value: Any) -> str:
        name = f"v{len(self.declarations)}"
        self.declarations.append(f"${name}: {type_name}")
        self.variables[name] = value
        return f"${name}"


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


def _values(input_type: GraphQLInputType, depth: int) -> st.SearchStrategy[Any]:
    """JSON-like values of this input type; now and then one of another type, or null."""
    if isinstance(input_type, GraphQLNonNull):
        value = _values(input_type.of_type, depth)
        return st.one_of(value, value, value, value, value, st.none())
    if isinstance(input_type, GraphQLList):
        return st.lists(_values(input_type.of_type, depth + 1), max_size=3)
    if isinstance(input_type, GraphQLEnumType):
        return st.sampled_from([*input_type.values, "NOT_A_VALUE"])
    if isinstance(input_type, GraphQLInputObjectType):
        if depth > MAX_DEPTH:
            return st.just({})
        # Built for the chosen fields only: filters nest (and/or/not), so building every
        # field's strategy ahead would grow exponentially with the depth.
        names = sorted(input_type.fields)
        return st.lists(st.sampled_from(names), unique=True, max_size=4).flatmap(
            lambda chosen: st.fixed_dictionaries(
                {name: _values(input_type.fields[name].type, depth + 1) for name in chosen}
            )
        )
    by_scalar = {
        "String": st.one_of(st.sampled_from(STRINGS), st.text(max_size=12)),
        "ID": st.sampled_from(STRINGS),
        "Int": st.one_of(st.integers(-5, 1200), st.integers(-(2**40), 2**40)),
        "Boolean": st.booleans(),
        "DateTime": st.sampled_from(DATES),
    }
    return by_scalar.get(input_type.name, st.sampled_from(STRINGS))


@st.composite
def _arguments(draw: st.DrawFn, operation: Operation, arguments: dict[str, Any]) -> str:
    written = []
    for name, argument in arguments.items():
        required = isinstance(argument.type, GraphQLNonNull)
        if not required and draw(st.booleans()):
            continue
        value = draw(_values(argument.type, 0))
        if draw(st.booleans()):
            type_name = str(argument.type) if draw(st.integers(0, 9)) else "String"  # sometimes the wrong type
            written.append(f"{name}: {operation.variable(type_name, value)}")
        else:
            written.append(f"{name}: {_literal(value, argument.type)}")
    return f"({', '.join(written)})" if written else ""


@st.composite
def _selection(draw: st.DrawFn, operation: Operation, object_type: GraphQLObjectType, depth: int) -> str:
    names = sorted(object_type.fields)
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    parts = []
    for name in chosen:
        field = object_type.fields[name]
        target = get_named_type(field.type)
        if isinstance(target, GraphQLObjectType) and depth >= MAX_DEPTH:
            continue
        alias = f"a{draw(st.integers(0, 3))}_{name}: " if draw(st.integers(0, 4)) == 0 else ""
        directive = draw(st.sampled_from(["", "", "", " @include(if: true)", " @skip(if: false)", " @skip(if: true)"]))
        text = f"{alias}{name}{draw(_arguments(operation, field.args))}{directive}"
        if isinstance(target, GraphQLObjectType):
            inner = draw(_selection(operation, target, depth + 1))
            if draw(st.integers(0, 4)) == 0:
                inner = f"... on {target.name} {{ {inner} }}"
            text += f" {{ {inner} }}"
        parts.append(text)
    if draw(st.integers(0, 5)) == 0:
        parts.append("__typename")
    return " ".join(parts) or "__typename"


@st.composite
def _operation(draw: st.DrawFn, schema: GraphQLSchema) -> dict[str, Any]:
    root = schema.mutation_type if draw(st.integers(0, 3)) == 0 else schema.query_type
    operation = Operation()
    selection = draw(_selection(operation, root, 0))
    keyword = "mutation" if root is schema.mutation_type else "query"
    declared = f"({', '.join(operation.declarations)})" if operation.declarations else ""
    return {"query": f"{keyword} Fuzz{declared} {{ {selection} }}", "variables": operation.variables}


@st.composite
def _broken(draw: st.DrawFn, request: dict[str, Any]) -> dict[str, Any]:
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


def requests(schema: GraphQLSchema) -> st.SearchStrategy[dict[str, Any]]:
    valid = _operation(schema)
    return st.one_of(valid, valid.flatmap(_broken))


def _demo_documents() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return json.loads((DEMO / "instances.json").read_text()), json.loads((DEMO / "party-roles.json").read_text())


def _check(status: int, body: Any) -> None:
    assert status < 500, body
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, error
        assert code != "INTERNAL_SERVER_ERROR", error


@pytest.mark.parametrize("caller", CALLERS)
def test_generated_requests_never_fail_the_gateway(store: Store, caller: str) -> None:
    instances, roles = _demo_documents()
    token = CALLERS[caller]()
    with asyncio.Runner() as runner:
        gateway = running_gateway(instances, roles, **store.settings())
        gw = runner.run(gateway.__aenter__())
        try:
            introspection = runner.run(gw.data(get_introspection_query()))
            schema = build_client_schema(introspection)
            sent = []

            @settings(
                max_examples=EXAMPLES_PER_CALLER,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(request=requests(schema))
            def answers_without_failing(request: dict[str, Any]) -> None:
                headers = {"Authorization": f"Bearer {token}"}
                response = runner.run(gw.http.post("/graphql", json=request, headers=headers))
                sent.append(request)
                _check(response.status_code, response.json())

            answers_without_failing()
            assert len(sent) >= EXAMPLES_PER_CALLER
        finally:
            runner.run(gateway.__aexit__(None, None, None))
