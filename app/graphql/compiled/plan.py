"""A query operation as a plan: which root fields it reads, and for each selection set the
fields to produce, in the order and under the names the general executor gives them.

The fields are collected with graphql-core's own `collect_fields`/`collect_subfields`, with the
request's variables for @include/@skip, so fragments, aliases and merged fields come out as the
executor sees them. A stored type's field is read as its `STORED` entry says (the table
`from_document` reads too); the few fields that resolvers compute are known here by name.
Anything else (introspection, mutations, a field this module does not know) is NotCompilable,
and the general executor answers that request.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from strawberry import Schema
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import Selection, convert_selections

from app.graphql.selection import subfields
from app.graphql.types.instance import guid_of
from app.graphql.types.status import shortened_label
from app.values import Stored


class NotCompilable(Exception):
    """The general executor answers this operation."""


# Instance's data elements, read by its `data(filter)` resolver.
DATA_ELEMENTS = "stored_data"


# Fields that resolvers compute from one stored field: (type, field) -> (stored field, function).
COMPUTED: Mapping[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    ("Instance", "instanceGuid"): ("id", guid_of),
    ("Substatus", "messageBoxLabel"): ("label", shortened_label),
}


@dataclass(frozen=True)
class Typename:
    key: str
    name: str


@dataclass(frozen=True)
class Leaf:
    """A scalar, enum or list of scalars, read by its Stored entry."""

    key: str
    name: str  # the Python name, in the type's STORED table
    stored: Stored
    type: GraphQLOutputType


@dataclass(frozen=True)
class Computed:
    """A field that a resolver computes from one stored field."""

    key: str
    name: str  # the stored field's Python name
    source: Stored
    compute: Callable[[Any], Any]
    type: GraphQLOutputType


@dataclass(frozen=True)
class Nested:
    """An object or a list of objects, read by its Stored entry."""

    key: str
    name: str
    stored: Stored
    selection: "ObjectSelection"


@dataclass(frozen=True)
class Data:
    """`Instance.data(filter)`: its filter is read per request."""

    key: str
    index: int  # in Plan.data
    selection: "ObjectSelection"
    field: GraphQLField
    node: FieldNode
    arguments: list[Any]  # the Strawberry field's, to convert them as its resolver gets them


@dataclass(frozen=True)
class Events:
    """`Instance.events`: the audit trail, or FORBIDDEN."""

    key: str
    index: int  # in Plan.events
    selection: "ObjectSelection"
    nodes: tuple[FieldNode, ...]


@dataclass(frozen=True)
class ObjectSelection:
    type_name: str
    stored_type: type  # the Strawberry type whose STORED table reads the document
    fields: tuple[Typename | Leaf | Computed | Nested | Data | Events, ...]

    @property
    def selects_events(self) -> bool:
        return any(isinstance(f, Events) for f in self.fields)

    @property
    def selected(self) -> frozenset[str]:
        """The stored fields (by Python name) that this selection reads."""
        names = {f.name for f in self.fields if isinstance(f, Leaf | Nested | Computed)}
        if any(isinstance(f, Data) for f in self.fields):
            names.add(DATA_ELEMENTS)
        return frozenset(names)

    @property
    def awaited(self) -> tuple[Data | Events, ...]:
        """The fields the general executor resolves asynchronously, in order."""
        return tuple(f for f in self.fields if isinstance(f, Data | Events))


@dataclass(frozen=True)
class PageInfo:
    key: str
    type_name: str
    fields: tuple[tuple[str, str], ...]  # (response key, field): a field of PageInfo or __typename


@dataclass(frozen=True)
class Cursor:
    key: str


@dataclass(frozen=True)
class Node:
    key: str
    selection: ObjectSelection


@dataclass(frozen=True)
class Edges:
    key: str
    fields: tuple[Cursor | Node | Typename, ...]


@dataclass(frozen=True)
class Nodes:
    key: str
    selection: ObjectSelection


@dataclass(frozen=True)
class TotalCount:
    key: str


@dataclass(frozen=True)
class Connection:
    fields: tuple[PageInfo | Edges | Nodes | TotalCount | Typename, ...]
    instance_type: type  # what each document of the page is read as

    @property
    def instance_selections(self) -> tuple[ObjectSelection, ...]:
        """The selections of its nodes and its edges' nodes."""
        found: list[ObjectSelection] = []
        for f in self.fields:
            if isinstance(f, Nodes):
                found.append(f.selection)
            elif isinstance(f, Edges):
                found.extend(e.selection for e in f.fields if isinstance(e, Node))
        return tuple(found)

    @property
    def reads_instances(self) -> bool:
        """Whether an instance selection reads each document (else, only the resolver's
        `from_document` does, for what it raises)."""
        return bool(self.instance_selections)

    @property
    def counts(self) -> bool:
        return any(isinstance(f, TotalCount) for f in self.fields)


@dataclass(frozen=True)
class Root:
    """One root field: `instances`, `instance`, `node` or `__typename`."""

    key: str
    name: str
    field: GraphQLField | None
    node: FieldNode | None
    arguments: list[Any]  # the Strawberry field's arguments, to convert them as its resolver gets them
    selections: list[Selection]  # as Strawberry's `info.selected_fields` gives them below the field
    result: Connection | ObjectSelection | Typename

    @property
    def instance_selections(self) -> tuple[ObjectSelection, ...]:
        if isinstance(self.result, ObjectSelection):
            return (self.result,)
        if isinstance(self.result, Connection):
            return self.result.instance_selections
        return ()

    @property
    def selects_events(self) -> bool:
        return any(s.selects_events for s in self.instance_selections)


@dataclass
class Plan:
    roots: tuple[Root, ...] = ()
    data: list[Data] = field(default_factory=list)
    events: list[Events] = field(default_factory=list)


@dataclass(frozen=True)
class _SelectionInfo:
    """What Strawberry's convert_selections reads of a resolver's info."""

    fragments: dict[str, Any]
    variable_values: Mapping[str, Any]


class _Planner:
    def __init__(
        self,
        schema: Schema,
        fragments: dict[str, FragmentDetails],
        variable_values: VariableValues,
        operation: OperationDefinitionNode,
    ) -> None:
        self.schema = schema
        self.graphql: GraphQLSchema = schema._schema
        self.fragments = fragments
        self.variable_values = variable_values
        self.operation = operation
        self.plan = Plan()
        self._info = _SelectionInfo(
            fragments={name: details.definition for name, details in fragments.items()}, variable_values={}
        )

    def roots(self) -> tuple[Root, ...]:
        if self.operation.operation is not OperationType.QUERY:
            raise NotCompilable("only queries")
        query = self.graphql.query_type
        assert query is not None
        collected = collect_fields(self.graphql, self.fragments, self.variable_values, query, self.operation)
        return tuple(self._root(query, key, details) for key, details in self._grouped(collected).items())

    def _grouped(self, collected: CollectedFields) -> dict[str, FieldDetailsList]:
        grouped, defer_usages, _forbidden = collected
        if defer_usages:
            raise NotCompilable("@defer")
        for details in grouped.values():
            if any(d.fragment_variable_values is not None or d.defer_usage is not None for d in details):
                raise NotCompilable("fragment variables or @defer")
        return grouped

    def _subfields(self, parent: GraphQLObjectType, details: FieldDetailsList) -> dict[str, FieldDetailsList]:
        return self._grouped(
            collect_subfields(self.graphql, self.fragments, self.variable_values, self.operation, parent, details)
        )

    def _root(self, query: GraphQLObjectType, key: str, details: FieldDetailsList) -> Root:
        name = details[0].node.name.value
        if name == "__typename":
            return Root(key, name, None, None, [], [], Typename(key, query.name))
        if name not in ("instances", "instance", "node"):
            raise NotCompilable(name)
        graphql_field = query.fields[name]
        target = self._object_type_of(graphql_field)
        nodes = [d.node for d in details]
        # What the resolver's `subfields(info.selected_fields, name)` sees: every sub-selection,
        # whatever its directives say.
        selections = subfields(convert_selections(self._info, nodes), name)  # type: ignore[arg-type]
        children = self._subfields(target, details)
        result = self._connection(target, children) if name == "instances" else self._object(target, children)
        strawberry_field = self._strawberry_field(query.name, name)
        return Root(key, name, graphql_field, details[0].node, strawberry_field.arguments, selections, result)

    def _object_type_of(self, graphql_field: GraphQLField) -> GraphQLObjectType:
        """The object type of a root field's value: an interface's one implementation (`node`
        reads instances only, as `instance` does)."""
        target = get_named_type(graphql_field.type)
        if isinstance(target, GraphQLInterfaceType):
            implementations = self.graphql.get_possible_types(target)
            if len(implementations) != 1:
                raise NotCompilable(f"{target.name} has several implementations")
            [target] = implementations
        assert isinstance(target, GraphQLObjectType)
        return target

    def _strawberry_field(self, type_name: str, name: str) -> StrawberryField:
        definition = self.schema.get_type_by_name(type_name)
        if not isinstance(definition, StrawberryObjectDefinition):
            raise NotCompilable(type_name)
        for candidate in definition.fields:
            if self.schema.config.name_converter.get_graphql_name(candidate) == name:
                return candidate
        raise NotCompilable(f"{type_name}.{name}")

    def _connection(self, connection: GraphQLObjectType, subfields: dict[str, FieldDetailsList]) -> Connection:
        fields: list[PageInfo | Edges | Nodes | TotalCount | Typename] = []
        for key, details in subfields.items():
            name = details[0].node.name.value
            if name == "__typename":
                fields.append(Typename(key, connection.name))
            elif name == "totalCount":
                fields.append(TotalCount(key))
            elif name == "nodes":
                fields.append(Nodes(key, self._object_of(connection, name, details)))
            elif name == "edges":
                fields.append(Edges(key, self._edge(self._target(connection, name), details)))
            elif name == "pageInfo":
                fields.append(self._page_info(key, self._target(connection, name), details))
            else:
                raise NotCompilable(f"{connection.name}.{name}")
        instance = self.schema.get_type_by_name(self._target(connection, "nodes").name)
        if not isinstance(instance, StrawberryObjectDefinition):
            raise NotCompilable(connection.name)
        return Connection(tuple(fields), instance.origin)

    def _target(self, parent: GraphQLObjectType, name: str) -> GraphQLObjectType:
        target = get_named_type(parent.fields[name].type)
        if not isinstance(target, GraphQLObjectType):
            raise NotCompilable(f"{parent.name}.{name}")
        return target

    def _object_of(self, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> ObjectSelection:
        target = self._target(parent, name)
        return self._object(target, self._subfields(target, details))

    def _edge(self, edge: GraphQLObjectType, details: FieldDetailsList) -> tuple[Cursor | Node | Typename, ...]:
        fields: list[Cursor | Node | Typename] = []
        for key, sub in self._subfields(edge, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                fields.append(Typename(key, edge.name))
            elif name == "cursor":
                fields.append(Cursor(key))
            elif name == "node":
                fields.append(Node(key, self._object_of(edge, name, sub)))
            else:
                raise NotCompilable(f"{edge.name}.{name}")
        return tuple(fields)

    def _page_info(self, key: str, page_info: GraphQLObjectType, details: FieldDetailsList) -> PageInfo:
        fields = []
        for sub_key, sub in self._subfields(page_info, details).items():
            name = sub[0].node.name.value
            if name not in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"):
                raise NotCompilable(f"{page_info.name}.{name}")
            fields.append((sub_key, name))
        return PageInfo(key, page_info.name, tuple(fields))

    def _object(self, object_type: GraphQLObjectType, subfields: dict[str, FieldDetailsList]) -> ObjectSelection:
        definition = self.schema.get_type_by_name(object_type.name)
        if not isinstance(definition, StrawberryObjectDefinition):
            raise NotCompilable(object_type.name)
        stored_type = definition.origin
        table: Mapping[str, Stored] | None = getattr(stored_type, "STORED", None)
        if table is None:
            raise NotCompilable(f"{object_type.name} is not read from a document")
        fields: list[Typename | Leaf | Computed | Nested | Data | Events] = []
        for key, details in subfields.items():
            name = details[0].node.name.value
            if name == "__typename":
                fields.append(Typename(key, object_type.name))
                continue
            graphql_field = object_type.fields[name]
            python_name = self._strawberry_field(object_type.name, name).python_name
            computed = COMPUTED.get((object_type.name, name))
            if python_name in table and python_name != DATA_ELEMENTS:
                fields.append(self._stored(object_type, key, python_name, table[python_name], graphql_field, details))
            elif computed is not None:
                source, compute = computed
                fields.append(Computed(key, source, table[source], compute, graphql_field.type))
            elif (object_type.name, name) == ("Instance", "data"):
                data = Data(
                    key,
                    len(self.plan.data),
                    self._object_of(object_type, name, details),
                    graphql_field,
                    details[0].node,
                    self._strawberry_field(object_type.name, name).arguments,
                )
                self.plan.data.append(data)
                fields.append(data)
            elif (object_type.name, name) == ("Instance", "events"):
                events = Events(
                    key,
                    len(self.plan.events),
                    self._object_of(object_type, name, details),
                    tuple(d.node for d in details),
                )
                self.plan.events.append(events)
                fields.append(events)
            else:
                raise NotCompilable(f"{object_type.name}.{name}")
        return ObjectSelection(object_type.name, stored_type, tuple(fields))

    def _stored(
        self,
        parent: GraphQLObjectType,
        key: str,
        name: str,
        stored: Stored,
        graphql_field: GraphQLField,
        details: FieldDetailsList,
    ) -> Leaf | Nested:
        if graphql_field.args:
            raise NotCompilable(f"{parent.name}.{name} takes arguments")
        named = get_named_type(graphql_field.type)
        if isinstance(named, GraphQLObjectType):
            return Nested(key, name, stored, self._object(named, self._subfields(named, details)))
        return Leaf(key, name, stored, graphql_field.type)


def plan_operation(
    schema: Schema,
    fragments: dict[str, FragmentDetails],
    variable_values: VariableValues,
    operation: OperationDefinitionNode,
) -> Plan:
    """The plan of a query; NotCompilable for anything else."""
    planner = _Planner(schema, fragments, variable_values, operation)
    roots = planner.roots()
    plan = planner.plan
    plan.roots = roots
    return plan
