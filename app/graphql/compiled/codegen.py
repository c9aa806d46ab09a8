"""Python code generated for a plan, compiled once: one function per selection set of a list
item (an instance, a data element, an event, ...), the objects under it read inline.

How it stays safe: the generated text holds only what this module writes (its templates,
identifiers it makes up, small integers and booleans of the model). Every string, whether a
response key or alias from the query, a field or type name or a stored key, is written as a
placeholder name, and after parsing each placeholder is replaced by an `ast.Constant` holding the
string: no string is ever read as Python source. The code runs with a handful of builtins and the
helpers of leaves.py, and reads documents only through `.get`.
"""

import ast
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLString,
    get_named_type,
)

from app import values
from app.graphql.compiled.leaves import check_timestamp, completed, datetime_text, enum_names, int32
from app.graphql.compiled.plan import (
    DATA_ELEMENTS,
    Computed,
    Connection,
    Cursor,
    Data,
    Edges,
    Events,
    Leaf,
    Nested,
    Node,
    Nodes,
    NotCompilable,
    ObjectSelection,
    Plan,
    Root,
    Typename,
)
from app.timestamps import format_timestamp
from app.values import Always, Each, Entries, EnumOf, Flag, Stored, required_text, text, texts, timestamp

_PLACEHOLDER = re.compile(r"_s(\d+)\Z")
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")

# All the builtins the generated code may use.
_BUILTINS = {
    "isinstance": isinstance,
    "dict": dict,
    "list": list,
    "str": str,
    "int": int,
    "bool": bool,
    "enumerate": enumerate,
    "zip": zip,
}

_HELPERS: dict[str, Any] = {
    "text": text,
    "required_text": required_text,
    "texts": texts,
    "datetime_text": datetime_text,
    "check_timestamp": check_timestamp,
    "int32": int32,
    "EMPTY": MappingProxyType({}),
}

# Readers that never raise, whatever the stored value: a field read by one of them and not
# selected needs no check.
_NEVER_RAISE = (text, required_text, str, values.integer, texts)


@dataclass(frozen=True)
class Compiled:
    """A plan with its generated functions."""

    plan: Plan
    builders: tuple[
        Callable[..., Any] | None, ...
    ]  # for each root: connection(doc, index, rt) or instance(doc, rt, at)
    event_items: tuple[Callable[[Any], Any], ...]  # InstanceEvent for each of plan.events
    source: str  # the generated code, with placeholders, for reading


class _Function:
    def __init__(self, header: str) -> None:
        self.lines = [header]
        self._depth = 1

    def add(self, line: str) -> None:
        self.lines.append("    " * self._depth + line)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.add(header)
        self._depth += 1
        yield
        self._depth -= 1


def _may_raise(stored_type: type) -> bool:
    return any(_reader_may_raise(entry.read) for entry in stored_type.STORED.values())


def _reader_may_raise(read: Callable[[Any], Any]) -> bool:
    if read in _NEVER_RAISE or isinstance(read, Flag | EnumOf):
        return False
    if isinstance(read, values.Nested | Always | Each | Entries):
        return _may_raise(read.type)
    return True


class _Generator:
    def __init__(self) -> None:
        self.functions: list[_Function] = []
        self.strings: list[str] = []
        self._string_index: dict[str, int] = {}
        self.namespace: dict[str, Any] = {"__builtins__": _BUILTINS, **_HELPERS}
        self._counter = itertools.count()
        self._type_guards: dict[type, str] = {}

    # -- names and constants

    def new(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def const(self, value: str) -> str:
        """A placeholder for a string, replaced by an ast.Constant after parsing."""
        if not isinstance(value, str):
            raise NotCompilable(f"not a string: {value!r}")
        if value not in self._string_index:
            self._string_index[value] = len(self.strings)
            self.strings.append(value)
        return f"_s{self._string_index[value]}"

    def key(self, response_key: str) -> str:
        if not _GRAPHQL_NAME.match(response_key):
            raise NotCompilable(f"not a GraphQL name: {response_key!r}")
        return self.const(response_key)

    def bind(self, value: Any) -> str:
        name = self.new("h")
        self.namespace[name] = value
        return name

    def function(self, header: str) -> _Function:
        function = _Function(header)
        self.functions.append(function)
        return function

    # -- reading stored values

    def get(self, entry: Stored, var: str) -> str:
        key = self.const(entry.key)
        if entry.missing is None:
            return f"{var}.get({key})"
        missing = self.const(entry.missing) if isinstance(entry.missing, str) else self.bind(entry.missing)
        return f"{var}.get({key}, {missing})"

    def read(self, entry: Stored, var: str) -> str:
        """`entry.read(var.get(...))`, inline for the readers of texts."""
        got = self.get(entry, var)
        if entry.read is text or entry.read is required_text or entry.read is str:
            reader = {text: "text", required_text: "required_text", str: "str"}[entry.read]
            return f"(x if (x := {got}).__class__ is str else {reader}(x))"
        return f"{self.bind(entry.read)}({got})"

    def leaf(self, entry: Stored, output_type: GraphQLOutputType, var: str) -> str:
        """The response value of a scalar or enum field: read, then coerced for output."""
        got = self.get(entry, var)
        inline = self._inline_leaf(entry, output_type, var, got)
        return inline if inline is not None else f"{self.bind(completed(entry.read, output_type))}({got})"

    def _inline_leaf(self, entry: Stored, output_type: GraphQLOutputType, var: str, got: str) -> str | None:
        """The common readers and types, inline: each form gives what reading and coercing give."""
        read, named = entry.read, get_named_type(output_type)
        nullable = not isinstance(output_type, GraphQLNonNull)
        single = not isinstance(output_type if nullable else output_type.of_type, GraphQLList)
        texts_read = read is required_text or read is str or (read is text and nullable)
        if named in (GraphQLString, GraphQLID) and single and texts_read:
            return self.read(entry, var)
        if read is values.integer and named is GraphQLInt and nullable:
            return f"(x if (x := {got}).__class__ is int and -2147483648 <= x <= 2147483647 else int32(x))"
        if isinstance(read, Flag) and named is GraphQLBoolean and isinstance(read.default, bool):
            return f"(x if (x := {got}).__class__ is bool else {read.default!r})"
        if read is timestamp and nullable and getattr(named, "coerce_output_value", None) is format_timestamp:
            return f"datetime_text({got})"
        if isinstance(read, EnumOf) and isinstance(named, GraphQLEnumType) and single:
            try:
                name_of = enum_names(read, named)
            except Exception as error:
                raise NotCompilable(f"enum {named.name}: {error}") from None
            return f"{self.bind(name_of)}({got})"
        if read is texts and str(output_type) == "[String!]!":
            # texts(value): the items as strings, nulls left out.
            items = "[y if y.__class__ is str else str(y) for y in x if y is not None]"
            return f"({items} if isinstance(x := {got}, list) and x else [])"
        return None

    # -- checks for what is read but not selected

    def guard(self, function: _Function, entry: Stored, var: str) -> None:
        """Raise here what reading this field would raise in `from_document`."""
        read = entry.read
        if not _reader_may_raise(read):
            return
        got = self.get(entry, var)
        if read is timestamp:
            function.add(f"check_timestamp({got})")
        elif isinstance(read, values.Nested | Always):
            function.add(f"{self.type_guard(read.type)}({got})")
        elif isinstance(read, Each):
            items = self.new("c")
            function.add(f"{items} = {got}")
            condition = "isinstance(e, dict)"
            if read.needs is not None:
                condition += f" and e.get({self.const(read.needs)}) is not None"
            with (
                function.block(f"if isinstance({items}, list):"),
                function.block(f"for e in {items}:"),
                function.block(f"if {condition}:"),
            ):
                function.add(f"{self.type_guard(read.type)}(e)")
        else:
            function.add(f"{self.bind(read)}({got})")

    def type_guard(self, stored_type: type) -> str:
        """A function that raises what reading an object of this type would raise."""
        if stored_type not in self._type_guards:
            name = self.new("g")
            self._type_guards[stored_type] = name
            function = self.function(f"def {name}(c):")
            with function.block("if isinstance(c, dict):"):
                for entry in stored_type.STORED.values():
                    self.guard(function, entry, "c")
                function.add("pass")
        return self._type_guards[stored_type]

    # -- objects

    def object(self, function: _Function, selection: ObjectSelection, var: str) -> str:
        """Statements for what this selection needs first, and the expression of its object."""
        table = selection.stored_type.STORED
        entries = []
        if any(isinstance(f, Data) for f in selection.fields):
            function.add(f"els = {self.read(table[DATA_ELEMENTS], var)}")
        for f in selection.fields:
            key = self.key(f.key)
            if isinstance(f, Typename):
                entries.append(f"{key}: {self.const(f.name)}")
            elif isinstance(f, Leaf):
                entries.append(f"{key}: {self.leaf(f.stored, f.type, var)}")
            elif isinstance(f, Computed):
                value = f"{self.bind(f.compute)}({self.read(f.source, var)})"
                complete = self.bind(completed(lambda v: v, f.type))
                if get_named_type(f.type) in (GraphQLString, GraphQLID):
                    entries.append(f"{key}: (y if (y := {value}).__class__ is str else {complete}(y))")
                else:
                    entries.append(f"{key}: {complete}({value})")
            elif isinstance(f, Nested):
                entries.append(f"{key}: {self.nested(function, f, var)}")
            elif isinstance(f, Data):
                item, matched = self.item(f.selection), self.new("c")
                function.add(f"{matched} = els if (m := rt.matchers[{f.index:d}]) is None else m(els)")
                entries.append(f"{key}: [{item}(e) for e in {matched}]")
            elif isinstance(f, Events):
                entries.append(f"{key}: rt.events({var}, {f.index:d}, at)")
            else:
                raise NotCompilable(f"{type(f).__name__}")
        for name, entry in table.items():
            if name not in selection.selected:
                self.guard(function, entry, var)
        return "{" + ", ".join(entries) + "}"

    def nested(self, function: _Function, f: Nested, var: str) -> str:
        read, got = f.stored.read, self.get(f.stored, var)
        if isinstance(read, values.Nested):
            value, result = self.new("c"), self.new("o")
            function.add(f"{value} = {got}")
            with function.block(f"if isinstance({value}, dict):"):
                function.add(f"{result} = {self.object(function, f.selection, value)}")
            with function.block("else:"):
                function.add(f"{result} = None")
            return result
        if isinstance(read, Always):
            value = self.new("c")
            function.add(f"{value} = {got}")
            with function.block(f"if not isinstance({value}, dict):"):
                function.add(f"{value} = EMPTY")
            return self.object(function, f.selection, value)
        if isinstance(read, Each):
            item = self.item(f.selection)
            condition = "isinstance(e, dict)"
            if read.needs is not None:
                condition += f" and e.get({self.const(read.needs)}) is not None"
            return f"([{item}(e) for e in x if {condition}] if isinstance(x := {got}, list) and x else [])"
        if isinstance(read, Entries):
            item = self.item(f.selection)
            entry = f"{{{self.const('key')}: k, {self.const('value')}: v}}"
            return f"([{item}({entry}) for k, v in x.items()] if isinstance(x := {got}, dict) and x else [])"
        raise NotCompilable(f"reader {read!r}")

    def item(self, selection: ObjectSelection) -> str:
        """A function for an object of a list: `name(document)`."""
        name = self.new("f")
        function = self.function(f"def {name}(d):")
        function.add(f"return {self.object(function, selection, 'd')}")
        return name

    def instance(self, selection: ObjectSelection) -> str:
        """A function for an instance: `name(document, rt, at)`, at the path prefix of its errors."""
        name = self.new("f")
        function = self.function(f"def {name}(d, rt, at):")
        function.add(f"return {self.object(function, selection, 'd')}")
        return name

    # -- connections

    def connection(self, root_key: str, connection: Connection) -> str:
        """A function for one document of a page: `name(document, index, rt)`, giving
        the item of each list the connection selects (its edges, its nodes), in order."""
        name = self.new("b")
        function = self.function(f"def {name}(d, i, rt):")
        root = self.key(root_key)
        items = []
        for f in connection.fields:
            key = self.key(f.key)
            if isinstance(f, Nodes):
                item = self.instance(f.selection)
                at = f"({root}, {key}, i)" if f.selection.selects_events else "None"
                items.append(f"{item}(d, rt, {at})")
            elif isinstance(f, Edges):
                items.append(self.edge(root, key, f))
        if not connection.reads_instances and _may_raise(connection.instance_type):
            # The resolver reads every document of the page even when no field of it is selected.
            function.add(f"{self.type_guard(connection.instance_type)}(d)")
        function.add("return (" + "".join(f"{item}, " for item in items) + ")")
        return name

    def edge(self, root: str, edges_key: str, edges: Edges) -> str:
        entries = []
        for f in edges.fields:
            key = self.key(f.key)
            if isinstance(f, Typename):
                entries.append(f"{key}: {self.const(f.name)}")
            elif isinstance(f, Cursor):
                entries.append(f"{key}: rt.cursor_of(d)")
            elif isinstance(f, Node):
                item = self.instance(f.selection)
                at = f"({root}, {edges_key}, i, {key})" if f.selection.selects_events else "None"
                entries.append(f"{key}: {item}(d, rt, {at})")
        return "{" + ", ".join(entries) + "}"

    # -- the module

    def compile(self) -> dict[str, Any]:
        tree = _Constants(self.strings).visit(ast.parse(self.source))
        code = compile(ast.fix_missing_locations(tree), "<compiled query>", "exec")
        namespace = dict(self.namespace)
        exec(code, namespace)  # our own code, every string in it a constant (see the docstring)
        return namespace

    @property
    def source(self) -> str:
        return "\n\n".join("\n".join(f.lines) for f in self.functions)


class _Constants(ast.NodeTransformer):
    """Each placeholder name becomes the string it stands for."""

    def __init__(self, strings: list[str]) -> None:
        self._strings = strings

    def visit_Name(self, node: ast.Name) -> ast.AST:
        match = _PLACEHOLDER.match(node.id)
        if match is None:
            return node
        if not isinstance(node.ctx, ast.Load):
            raise NotCompilable("a placeholder assigned to")
        return ast.copy_location(ast.Constant(self._strings[int(match.group(1))]), node)


def generate(plan: Plan) -> Compiled:
    """The plan's functions, generated and compiled."""
    generator = _Generator()
    builder_names: list[str | None] = []
    for root in plan.roots:
        builder_names.append(_builder(generator, root))
    event_names = [generator.item(events.selection) for events in plan.events]
    namespace = generator.compile()
    return Compiled(
        plan=plan,
        builders=tuple(namespace[name] if name else None for name in builder_names),
        event_items=tuple(namespace[name] for name in event_names),
        source=generator.source,
    )


def _builder(generator: _Generator, root: Root) -> str | None:
    if isinstance(root.result, Connection):
        return generator.connection(root.key, root.result)
    if isinstance(root.result, ObjectSelection):
        return generator.instance(root.result)
    return None
