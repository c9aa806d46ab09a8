"""Every error leaves with an `extensions.code`; unexpected ones are logged and masked, with
the request id in both, so that a caller's report leads to the log line. The operation and the
codes go to the request's record for its log line and the metrics."""

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.execution import PreExecutionError

from app.errors import GatewayError
from app.request_record import RequestRecord

log = logging.getLogger("instance_gateway")

INTERNAL_MESSAGE = "Internal server error; it has been logged."


class PreparationFailed(Exception):
    """An exception raised while a document was parsed or validated: the gateway's failure,
    though it comes before execution, where errors are otherwise the caller's input."""

    def __init__(self, failure: Exception) -> None:
        super().__init__(str(failure))
        self.__cause__ = failure


def _with_code(error: GraphQLError, request_id: str, *, streamed: bool = False) -> GraphQLError:
    original = error.original_error
    extensions: dict[str, object] = {}
    if isinstance(original, GatewayError):
        code, message = original.code, original.message
    elif original is None or (error.path is None and not streamed and not isinstance(original, PreparationFailed)):
        # Raised before execution: syntax, validation, or variable values. That is the
        # caller's input.
        code, message = "BAD_USER_INPUT", error.message
    else:
        where = error.path or "parsing or validation"
        log.error("unexpected error at %s", where, exc_info=original, extra={"request_id": request_id})
        code, message = "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE
        extensions["requestId"] = request_id
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, **extensions},
    )


def _operation_type(execution_context: ExecutionContext) -> str:
    try:
        return execution_context.operation_type.value
    except RuntimeError:  # the document did not parse, or names no such operation
        return "none"


class ErrorCodes(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._streamed: Any = None  # the last result streamed, already coded

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not self._streamed:
            self._code(result, streamed=False)

    def on_execute(self) -> Iterator[None]:
        # A subscription may end (its connection closing) before its first event: its record
        # names the operation from the start.
        self._note_operation()
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Over WebSocket each result leaves as it comes, before the operation ends. An error
        # without a path in an event's result was raised by the event stream, not the caller.
        self._code(result, streamed=not isinstance(result, PreExecutionError))
        self._streamed = result
        yield

    def _note_operation(self) -> RequestRecord:
        record: RequestRecord = self.execution_context.context.record
        record.operation_type = _operation_type(self.execution_context)
        record.operation_name = self.execution_context.operation_name
        return record

    def _code(self, result: Any, *, streamed: bool) -> None:
        record = self._note_operation()
        if result is not None and result.errors:
            result.errors = [_with_code(e, record.request_id, streamed=streamed) for e in result.errors]
            record.error_codes += [str((e.extensions or {})["code"]) for e in result.errors]
