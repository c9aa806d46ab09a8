"""Every request's document is parsed and validated here: the gateway's limits first, so that
graphql-core's own rules see only a document within them, and the operation to run named when
the document holds several. The documents of the queries clients repeat are kept in two LRU
caches of `Settings.document_cache_size` entries each, so that a repeated query skips both steps.

Only queries up to MAX_CACHED_QUERY_CHARS are kept: a parsed document takes up to about 80
bytes per character of query (a dense one of 4096 characters, 330 kB), so however many distinct
queries arrive the caches hold at most about 85 MB at the default size, and far less for the
short queries clients repeat. A longer query is parsed and validated each time, unless it is a
trusted document: those are known at start and bounded by the manifest, so the caches have room
for each of them besides, whatever its length.
"""

from collections.abc import Collection, Iterator, Sequence
from contextlib import suppress
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from app.graphql.limits import within_budget

MAX_CACHED_QUERY_CHARS = 4096

Rules = Sequence[type[ASTValidationRule]]


def validate_within_limits(
    schema: GraphQLSchema, document: DocumentNode, limits: Rules, rules: Rules
) -> list[GraphQLError]:
    """The errors of the document: the limits' alone when it breaks one."""
    return validate(schema, document, limits) or validate_document(schema, document, within_budget(rules))


class OperationNameRequired(CannotGetOperationTypeError):
    """A document of several operations, and no `operationName` to say which one to run. As
    Strawberry's unknown operation name, it is answered before anything runs (400 over HTTP)."""

    def __init__(self) -> None:
        super().__init__(None)

    def as_http_error_reason(self) -> str:
        return "Must provide operation name if query contains multiple operations."


class DocumentCache:
    def __init__(self, maxsize: int, limits: Rules, trusted: Collection[str] = ()) -> None:
        """`trusted`: the trusted documents' texts, kept whatever their length."""
        self.limits = tuple(limits)
        self.trusted = frozenset(trusted)
        self.parse = lru_cache(maxsize=maxsize + len(self.trusted))(parse)
        # Keyed by the query's text, not by its document: a document hashes its whole tree.
        self.validate = lru_cache(maxsize=maxsize + len(self.trusted))(self._validate)

    def keeps(self, query: str) -> bool:
        return len(query) <= MAX_CACHED_QUERY_CHARS or query in self.trusted

    def extension(self) -> SchemaExtension:
        """The extension that parses and validates one request's document."""
        return _Documents(self)

    def _validate(
        self, schema: GraphQLSchema, query: str, parse_options: tuple[tuple[str, Any], ...], rules: Rules, document: Any
    ) -> list[GraphQLError]:
        """The validation of the document parsed from `query` with these options (`document`
        is passed in a _Carried, which is not part of the key)."""
        return validate_within_limits(schema, document.value, self.limits, rules)


class _Carried:
    """A value passed to a cached function without being part of its key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Carried)


def _several_operations_and_no_name(context: ExecutionContext) -> bool:
    # Strawberry would run the first operation; the specification asks for an error. Strawberry
    # (pinned below 0.342) keeps the request's name there: `operation_name` falls back to the first's.
    document = context.graphql_document
    if document is None or context._provided_operation_name is not None:
        return False
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1


class _Documents(SchemaExtension):
    def __init__(self, cache: DocumentCache) -> None:
        self._cache = cache

    def _cached(self) -> bool:
        query = self.execution_context.query
        return query is not None and self._cache.keeps(query)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # The grammar of the GraphQL specification: a selection set selects one field at least.
        context.parse_options["allow_empty_selection_sets"] = False  # type: ignore[typeddict-unknown-key]
        if context.query and self._cached():
            # A query that does not parse is left to Strawberry's own parsing, which reports it
            # as the answer; a longer one is Strawberry's to parse anyway.
            with suppress(GraphQLError):
                context.graphql_document = self._cache.parse(context.query, **context.parse_options)
        yield
        if _several_operations_and_no_name(context):
            raise OperationNameRequired

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            schema, rules = context.schema._schema, context.validation_rules
            if self._cached():
                options = tuple(context.parse_options.items())
                errors = self._cache.validate(schema, context.query, options, rules, _Carried(document))
                context.pre_execution_errors = errors
            else:
                context.pre_execution_errors = validate_within_limits(schema, document, self._cache.limits, rules)
        yield
