"""What one request was and how it ended, as its log line and the metrics tell it. The HTTP
edge opens it and notes the status; the WebSocket edge opens one per operation and notes how its
connection closed; the GraphQL layer notes the caller's kind, the operation and the error codes."""

from dataclasses import dataclass, field

# WebSocket close codes that end an operation without anything having gone wrong: a normal
# closure, a client going away, the server restarting. Not 1005 (no code given): uvicorn reports
# it also for a connection dropped without a close frame, and for one it closed at a ping timeout.
_CLEAN_CLOSES = frozenset({1000, 1001, 1012})


@dataclass
class RequestRecord:
    request_id: str
    status: int = 500  # until a response starts: a request that fails before one is a server error
    caller: str | None = None  # "org" or "user": the kind of caller, never who or the token
    operation_type: str = "none"  # query, mutation or subscription once a GraphQL operation ran
    operation_name: str | None = None
    error_codes: list[str] = field(default_factory=list)  # each error's extensions.code, in order
    close_code: int | None = None  # a WebSocket operation's: its connection's, if the close ended it

    @property
    def outcome(self) -> str:
        """error: an error status, a GraphQL error in a 200 answer, or a WebSocket operation
        ended by a failure (too slow, a token that expired, a client cut off, ...)."""
        failed_close = self.close_code is not None and self.close_code not in _CLEAN_CLOSES
        return "error" if self.status >= 400 or self.error_codes or failed_close else "ok"
