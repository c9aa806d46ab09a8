"""The schema, built for the settings' limits that keep one request from exhausting the gateway."""

from collections.abc import Collection, Iterable
from typing import Any

from graphql import GraphQLError
from strawberry import Schema
from strawberry.exceptions import MissingQueryError
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from app.config import Settings
from app.graphql.compiled.execution import CompiledQueries
from app.graphql.document_cache import DocumentCache
from app.graphql.errors import ErrorCodes, PreparationFailed
from app.graphql.explain import QueryPlans, RootFieldExecution
from app.graphql.limits import limit_extensions, limit_rules
from app.graphql.mutations import Mutation
from app.graphql.queries import Query
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

    async def _prepare_operation_async(
        self, context: ExecutionContext, extensions_runner: SchemaExtensionsRunner
    ) -> PreExecutionError | None:
        # Strawberry (pinned below 0.342) lets an exception raised while a document is parsed or
        # validated (a failing rule, say) escape the operation's extensions: over HTTP it was
        # answered with its own message, uncoded and unlogged. Here it becomes the request's answer,
        # which ErrorCodes masks and logs.
        try:
            return await super()._prepare_operation_async(context, extensions_runner)
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise  # answered by the HTTP view and the WebSocket as the request's mistake
        except Exception as failure:
            error = GraphQLError(str(failure), original_error=PreparationFailed(failure))
            context.pre_execution_errors = [error]
            return PreExecutionError(data=None, errors=[error])

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes has already logged the unexpected ones; the rest are the caller's
        # mistakes and answered in the response, not worth a traceback in the log.
        return None


def build_schema(settings: Settings, trusted: Collection[str] = ()) -> GatewaySchema:
    """The schema with these settings' limits, keeping the `trusted` documents once parsed; its
    SDL is the same for any settings."""
    documents = DocumentCache(settings.document_cache_size, limit_rules(settings), trusted)
    compiled = CompiledQueries(settings.document_cache_size if settings.compiled_execution else 0)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=RootFieldExecution,
        # The compiled execution comes after every limit, so that it answers only what they let through,
        # and after QueryPlans, so that its commands are kept.
        extensions=[*limit_extensions(settings), documents.extension, QueryPlans, compiled.extension, ErrorCodes],
    )
    schema.documents = documents
    schema.compiled = compiled
    return schema
