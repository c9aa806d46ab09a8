"""An `InstanceFilter` given as JSON outside a request, as `instance-gateway export --filter`
takes it: coerced as a GraphQL variable of that type is, so it takes the same fields and
values and is refused with the same messages, then checked by the filter compiler."""

from typing import Any, cast

from graphql import OperationDefinitionNode, get_variable_values, parse

from app.config import Settings
from app.errors import BadUserInput
from app.graphql.inputs import plain_data
from app.graphql.schema import build_schema
from app.store.filters import check_instance_filter

_OPERATION = cast(OperationDefinitionNode, parse("query ($filter: InstanceFilter!) { __typename }").definitions[0])


def instance_filter_from_json(value: Any, settings: Settings) -> dict[str, Any]:
    """The filter as the compiler takes it; raises BadUserInput saying what is wrong."""
    schema = build_schema(settings)._schema
    coerced = get_variable_values(schema, _OPERATION.variable_definitions, {"filter": value})
    if isinstance(coerced, list):
        raise BadUserInput("; ".join(error.message for error in coerced))
    instance_filter = plain_data(coerced.coerced["filter"])
    check_instance_filter(instance_filter)
    return instance_filter
