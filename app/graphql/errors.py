"""Every error leaves with an `extensions.code`; unexpected ones are logged and masked."""

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.errors import GatewayError

log = logging.getLogger("instance_gateway")

INTERNAL_MESSAGE = "Internal server error; it has been logged."


def _with_code(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GatewayError):
        code, message = original.code, original.message
    elif original is None or error.path is None:
        # Raised before execution: syntax, validation, or variable values. That is the
        # caller's input.
        code, message = "BAD_USER_INPUT", error.message
    else:
        log.error("unexpected error at %s", error.path, exc_info=original)
        code, message = "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_with_code(e) for e in result.errors]
