"""The limits on one request, all checked before it runs: depth, aliases and tokens of the
query, the fields it selects once its fragments are expanded, the length of every list in its
input, and, when switched off, introspection.

The validation rules are built once per schema, so that a cached validation (see
document_cache.py) serves every later request with the same query. They run before graphql-core's
own rules, which see only a document within them, and each costs time in proportion to the
document's text: a fragment's cost is measured once, however often it is spread.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    InlineFragmentNode,
    ListValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_introspection_type,
    is_leaf_type,
    type_from_ast,
)
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from app.config import Settings
from app.errors import BadUserInput, Forbidden


def limit_rules(settings: Settings) -> tuple[type[ValidationRule], ...]:
    """The validation rules that enforce the settings' limits on the document itself."""
    # Every field takes a token at least: so fragments let a document select no more fields
    # than the token limit lets it write out.
    rules = [
        _size_rule(settings.max_query_depth, settings.max_aliases, max_fields=settings.max_tokens),
        _max_list_length_rule(settings.max_filter_list),
    ]
    if not settings.introspection:
        rules.append(NoIntrospection)
    return tuple(rules)


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The extensions that enforce the settings' limits outside the document's validation, one
    of each per request."""
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: VariableListLimit(settings.max_filter_list),
    ]


@dataclass(frozen=True)
class _Size:
    """What a definition selects, its fragments expanded."""

    depth: int  # the most fields around one selection, introspection's left out
    aliases: int
    fields: int


_NOTHING = _Size(0, 0, 0)


def _own_size(selection_set: SelectionSetNode) -> tuple[_Size, list[tuple[str, int | None]]]:
    """The size of a definition's own selections, and the fragments it spreads, each with the
    depth of the spread (None inside introspection, which does not count towards the depth)."""
    depth = aliases = fields = 0
    spreads: list[tuple[str, int | None]] = []
    pending: list[tuple[SelectionSetNode, int | None]] = [(selection_set, 0)]
    while pending:
        selections, level = pending.pop()
        for selection in selections.selections:
            depth = max(depth, level or 0)
            if isinstance(selection, FragmentSpreadNode):
                spreads.append((selection.name.value, level))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, level))
            elif isinstance(selection, FieldNode):
                fields += 1
                aliases += selection.alias is not None
                if selection.selection_set is not None:
                    inside = None if level is None or selection.name.value.startswith("__") else level + 1
                    pending.append((selection.selection_set, inside))
    return _Size(depth, aliases, fields), spreads


def _with_spreads(own: _Size, spreads: list[tuple[str, int | None]], sizes: dict[str, _Size]) -> _Size:
    # A fragment not (yet) measured adds nothing: an unknown one or one in a cycle, which
    # graphql-core's rules report.
    spread = [(sizes.get(name, _NOTHING), level) for name, level in spreads]
    return _Size(
        max([own.depth, *(level + size.depth for size, level in spread if level is not None)]),
        own.aliases + sum(size.aliases for size, _ in spread),
        own.fields + sum(size.fields for size, _ in spread),
    )


def _fragment_sizes(document: DocumentNode) -> dict[str, _Size]:
    """Each fragment's size with the fragments it spreads, each measured once."""
    own = {
        definition.name.value: _own_size(definition.selection_set)
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    sizes: dict[str, _Size] = {}
    for root in own:
        if root in sizes:  # measured already, as a fragment that another spreads
            continue
        # Depth first, a fragment once those it spreads are measured; not recursive, as a chain
        # of fragments may be longer than Python's recursion limit.
        path = [(root, iter(own[root][1]))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            for spread, _level in spreads:
                if spread in own and spread not in sizes and spread not in on_path:
                    path.append((spread, iter(own[spread][1])))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                sizes[name] = _with_spreads(*own[name], sizes)
    return sizes


def _size_rule(max_depth: int, max_aliases: int, max_fields: int) -> type[ValidationRule]:
    class DocumentSize(ValidationRule):
        """The depth of each operation, and the aliases and fields of the document, counted
        where its fragments are spread (the messages are those of Strawberry's limiters)."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = _fragment_sizes(context.document)
            aliases = fields = 0
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                size = _with_spreads(*_own_size(definition.selection_set), fragments)
                aliases, fields = aliases + size.aliases, fields + size.fields
                if size.depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    message = f"'{name}' exceeds maximum operation depth of {max_depth}"
                    context.report_error(GraphQLError(message, definition))
            if aliases > max_aliases:
                context.report_error(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}"))
            if fields > max_fields:
                message = f"the document selects {fields} fields once its fragments are expanded"
                context.report_error(GraphQLError(f"{message}; at most {max_fields} are accepted"))

    return DocumentSize


# graphql-core compares the fields of one response name in pairs, until a budget runs out
# ("Validation aborted."): its 500,000 steps held the one thread for 3 s on a document within
# every limit (990 `instances { totalCount }`). The queries clients send spend a few hundred.
OVERLAP_BUDGET = 50_000


class _OverlappingFieldsWithinBudget(OverlappingFieldsCanBeMergedRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET


def within_budget(rules: Sequence[type[ASTValidationRule]]) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's rules, its comparison of fields of one name on a smaller budget."""
    return tuple(_OverlappingFieldsWithinBudget if rule is OverlappingFieldsCanBeMergedRule else rule for rule in rules)


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
