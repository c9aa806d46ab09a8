"""The limits on one request, all checked before it runs: depth, aliases and tokens of the
query, the length of every list in its input, and, when switched off, introspection.

The validation rules are built once per schema, so that a cached validation (see
document_cache.py) serves every later request with the same query.
"""

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    ListValueNode,
    ObjectFieldNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_introspection_type,
    is_leaf_type,
    type_from_ast,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from app.config import Settings
from app.errors import BadUserInput, Forbidden


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The extensions that enforce the settings' limits, one of each per request."""
    rules = [
        _max_depth_rule(settings.max_query_depth),
        max_aliases_rule(settings.max_aliases),
        _max_list_length_rule(settings.max_filter_list),
    ]
    if not settings.introspection:
        rules.append(NoIntrospection)
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: VariableListLimit(settings.max_filter_list),
    ]


def _max_depth_rule(max_depth: int) -> type[ValidationRule]:
    depth_rule = max_depth_rule(max_depth, should_ignore=None)

    class MaxDepth(depth_rule):
        def __init__(self, context: ValidationContext) -> None:
            try:
                super().__init__(context)
            except KeyError:
                # Strawberry's rule fails on a spread of a fragment the document does not
                # define; KnownFragmentNamesRule reports that, and the document is not run.
                ValidationRule.__init__(self, context)

    return MaxDepth


def _too_long(name: str, length: int, limit: int) -> str:
    return f"`{name}` holds {length} values; at most {limit} are accepted in one list"


def _max_list_length_rule(limit: int) -> type[ValidationRule]:
    class MaxListLength(ValidationRule):
        """A list written in the query itself (the token limit keeps it short, but the bound
        is the same as for variables)."""

        def enter_list_value(self, node: ListValueNode, _key: Any, parent: Any, *_args: Any) -> None:
            if len(node.values) > limit:
                name = parent.name.value if isinstance(parent, ObjectFieldNode | ArgumentNode) else "list"
                self.report_error(GraphQLError(_too_long(name, len(node.values), limit), node))

    return MaxListLength


class VariableListLimit(SchemaExtension):
    """Refuses a variable that holds a list longer than the limit, before GraphQL coerces the
    variables: coercing a million `in` values alone holds the one thread every caller shares
    for seconds."""

    def __init__(self, limit: int) -> None:
        self._limit = limit

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.variables:
            operation = get_operation_ast(context.graphql_document, context.operation_name)
            for definition in (operation and operation.variable_definitions) or ():
                name = definition.variable.name.value
                variable_type = type_from_ast(context.schema._schema, definition.type)
                if variable_type is None or name not in context.variables:
                    continue
                too_long = _too_long_list(context.variables[name], variable_type, f"${name}", self._limit)
                if too_long is not None:
                    error = BadUserInput(_too_long(*too_long, self._limit))
                    # A result set before execution is the answer: GraphQL does not run.
                    context.result = ExecutionResult(None, [GraphQLError(error.message, original_error=error)])
                    break
        yield


def _too_long_list(value: Any, value_type: Any, path: str, limit: int) -> tuple[str, int] | None:
    """The path and length of the first list in `value` longer than `limit`. Only lists are
    counted, never iterated when they hold plain values, so this costs next to nothing."""
    pending: list[tuple[Any, GraphQLInputType, str]] = [(value, value_type, path)]
    while pending:  # not recursive: a value nested thousands deep is GraphQL's to refuse
        value, value_type, path = pending.pop()
        value_type = get_nullable_type(value_type)
        if isinstance(value_type, GraphQLList):
            item_type = value_type.of_type
            if not isinstance(value, list):
                pending.append((value, item_type, path))  # one value stands for a list of one
            elif len(value) > limit:
                return path, len(value)
            elif not is_leaf_type(get_named_type(item_type)):
                pending.extend((item, item_type, f"{path}[{i}]") for i, item in enumerate(value))
        elif isinstance(value_type, GraphQLInputObjectType) and isinstance(value, dict):
            for name, item in value.items():
                field = value_type.fields.get(name)
                if field is not None:
                    pending.append((item, field.type, f"{path}.{name}"))
    return None


class NoIntrospection(ValidationRule):
    """Introspection switched off (Settings.introspection): one error for each `__schema` or
    `__type`; `__typename` stays, as clients need it."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        entered = get_named_type(self.context.get_type())
        parent = self.context.get_parent_type()
        if entered and is_introspection_type(entered) and not (parent and is_introspection_type(parent)):
            error = Forbidden(f"introspection is switched off on this gateway: `{node.name.value}` cannot be queried")
            self.report_error(GraphQLError(error.message, node, original_error=error))
