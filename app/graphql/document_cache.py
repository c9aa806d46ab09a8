"""Parsed and validated documents of the queries clients repeat, kept in two LRU caches of
`Settings.document_cache_size` entries each, so that a repeated query skips both steps.

Only queries up to MAX_CACHED_QUERY_CHARS are kept: a parsed document takes up to about 80
bytes per character of query (a dense one of 4096 characters, 330 kB), so however many distinct
queries arrive the caches hold at most about 85 MB at the default size, and far less for the
short queries clients repeat. A longer query is parsed and validated each time.
"""

from collections.abc import Iterator
from functools import lru_cache

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_CACHED_QUERY_CHARS = 4096


class DocumentCache:
    def __init__(self, maxsize: int) -> None:
        self.parse = lru_cache(maxsize=maxsize)(parse)
        self.validate = lru_cache(maxsize=maxsize)(validate_document)

    def extension(self) -> SchemaExtension:
        """The extension that uses this cache in one request."""
        return _CachedDocuments(self)


class _CachedDocuments(SchemaExtension):
    def __init__(self, cache: DocumentCache) -> None:
        self._cache = cache
        self._cached = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and len(context.query) <= MAX_CACHED_QUERY_CHARS:
            try:
                context.graphql_document = self._cache.parse(context.query, **context.parse_options)
                self._cached = True
            except GraphQLError:
                pass  # left to Strawberry's own parsing, which reports it as the answer
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._cached and context.graphql_document is not None:
            context.pre_execution_errors = self._cache.validate(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield
