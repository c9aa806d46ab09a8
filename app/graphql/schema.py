"""The schema, built for the settings' limits that keep one request from exhausting the gateway."""

from graphql import GraphQLError
from strawberry import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.config import Settings
from app.graphql.compiled.execution import CompiledQueries
from app.graphql.document_cache import DocumentCache
from app.graphql.errors import ErrorCodes
from app.graphql.limits import limit_extensions
from app.graphql.mutations import Mutation
from app.graphql.queries import Query
from app.graphql.scalars import SCALARS


class GatewaySchema(Schema):
    documents: DocumentCache  # how full and how useful: documents.parse.cache_info()
    compiled: CompiledQueries  # the queries answered by compiled plans

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
        config=StrawberryConfig(scalar_map=SCALARS),
        # The compiled execution comes after every limit, so that it answers only what they let through.
        extensions=[*limit_extensions(settings), documents.extension, compiled.extension, ErrorCodes],
    )
    schema.documents = documents
    schema.compiled = compiled
    compiled.schema = schema
    return schema
