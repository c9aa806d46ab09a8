"""Parsed and validated documents of the queries clients repeat, kept in two LRU caches of
`Settings.document_cache_size` entries each, so that a repeated query skips both steps.

Only queries up to MAX_CACHED_QUERY_CHARS are kept: a parsed document takes up to about 80
bytes per character of query (a dense one of 4096 characters, 330 kB), so however many distinct
queries arrive the caches hold at most about 85 MB at the default size, and far less for the
short queries clients repeat. A longer query is parsed and validated each time.
"""

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_CACHED_QUERY_CHARS = 4096


class DocumentCache:
    def __init__(self, maxsize: int) -> None:
        self.parse = lru_cache(maxsize=maxsize)(parse)
        # Keyed by the query's text, not by its document: a document hashes its whole tree.
        self.validate = lru_cache(maxsize=maxsize)(_validate)

    def extension(self) -> SchemaExtension:
        """The extension that uses this cache in one request."""
        return _CachedDocuments(self)


class _Carried:
    """A value passed to a cached function without being part of its key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Carried)


def _validate(
    schema: GraphQLSchema, query: str, parse_options: tuple[tuple[str, Any], ...], rules: Any, document: _Carried
) -> list[GraphQLError]:
    """The validation of the document parsed from `query` with these options."""
    return validate_document(schema, document.value, rules)


class _CachedDocuments(SchemaExtension):
    def __init__(self, cache: DocumentCache) -> None:
        self._cache = cache
        self._cached: str | None = None  # the query, once its document came from the cache

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and len(context.query) <= MAX_CACHED_QUERY_CHARS:
            try:
                context.graphql_document = self._cache.parse(context.query, **context.parse_options)
                self._cached = context.query
            except GraphQLError:
                pass  # left to Strawberry's own parsing, which reports it as the answer
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._cached is not None and context.graphql_document is not None:
            context.pre_execution_errors = self._cache.validate(
                context.schema._schema,
                self._cached,
                tuple(context.parse_options.items()),
                context.validation_rules,
                _Carried(context.graphql_document),
            )
        yield
