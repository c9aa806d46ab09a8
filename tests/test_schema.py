import contextlib
import io
import re
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    is_introspection_type,
    is_specified_scalar_type,
)

from app.cli import main

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_committed_schema_is_the_exported_schema():
    exported = io.StringIO()
    with contextlib.redirect_stdout(exported):
        assert main(["export-schema"]) == 0
    assert SCHEMA_FILE.read_text() == exported.getvalue(), "run `make schema` and commit schema.graphql"


# Schema coordinates the contract names, and their types.
CONTRACT = {
    "Query.instance": "Instance",
    "Query.instance(id:)": "ID!",
    "InstanceConnection.totalCount": "Int!",
    "Substatus.messageBoxLabel": "String",
    "InstanceFilter.excludeConfirmedBy": "String",
    "ReadStatus.UPDATED_SINCE_LAST_REVIEW": "ReadStatus",
    "InstanceSortField.LAST_CHANGED": "InstanceSortField",
    "FileScanResult.INFECTED": "FileScanResult",
}


def _type_at(schema: GraphQLSchema, coordinate: str) -> str:
    """The type of the field, argument or enum value at `coordinate` (Type.field(argument:))."""
    type_name, member, argument = re.fullmatch(r"(\w+)\.(\w+)(?:\((\w+):\))?", coordinate).groups()
    named_type = schema.type_map[type_name]
    if isinstance(named_type, GraphQLEnumType):
        return type_name if member in named_type.values else "absent"
    field = named_type.fields[member]
    return str(field.args[argument].type if argument else field.type)


def test_schema_has_the_contract_names():
    schema = build_schema(SCHEMA_FILE.read_text())
    assert {c: _type_at(schema, c) for c in CONTRACT} == CONTRACT


def _undocumented(schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field and enum value of the schema without a
    description, by its coordinate (Type.field(argument:))."""
    missing = []
    for name, named_type in schema.type_map.items():
        if is_introspection_type(named_type) or is_specified_scalar_type(named_type):
            continue
        if not named_type.description:
            missing.append(name)
        if isinstance(named_type, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, member in named_type.values.items() if not member.description]
        if isinstance(named_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        missing.append(f"{name}.{field_name}({argument_name}:)")
    return missing


def test_every_element_of_the_schema_is_described():
    assert _undocumented(build_schema(SCHEMA_FILE.read_text())) == []
