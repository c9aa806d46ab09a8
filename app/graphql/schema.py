"""The schema, built for the settings' limits that keep one request from exhausting the gateway."""

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from strawberry import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from app.config import Settings
from app.graphql.compiled.execution import CompiledQueries
from app.graphql.document_cache import DocumentCache
from app.graphql.errors import ErrorCodes
from app.graphql.limits import limit_extensions
from app.graphql.mutations import Mutation
from app.graphql.queries import Query
from app.graphql.rendering import SharedEventExecution
from app.graphql.scalars import SCALARS
from app.graphql.subscriptions import Subscription


class GatewaySchema(Schema):
    documents: DocumentCache  # how full and how useful: documents.parse.cache_info()
    compiled: CompiledQueries  # the queries answered by compiled plans

    async def execute(
        self, *args: Any, allowed_operation_types: Iterable[OperationType] | None = None, **kwargs: Any
    ) -> Any:
        # A single answer has no stream to carry a subscription's events: the WebSocket at
        # /graphql runs them (through `stream`), and this refuses them.
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(*args, allowed_operation_types=allowed - {OperationType.SUBSCRIPTION}, **kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes has already logged the unexpected ones; the rest are the caller's
        # mistakes and answered in the response, not worth a traceback in the log.
        return None


def build_schema(settings: Settings) -> GatewaySchema:
    """The schema with these settings' limits; its SDL is the same for any settings."""
    documents = DocumentCache(settings.document_cache_size)
    compiled = CompiledQueries(settings.document_cache_size if settings.compiled_execution else 0)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=SharedEventExecution,
        # The compiled execution comes after every limit, so that it answers only what they let through.
        extensions=[*limit_extensions(settings), documents.extension, compiled.extension, ErrorCodes],
    )
    schema.documents = documents
    schema.compiled = compiled
    return schema
