"""What one request was and how it ended, as its log line and the metrics tell it. The HTTP
edge opens it and notes the status; the GraphQL layer notes the caller's kind, the operation
and the error codes."""

from dataclasses import dataclass, field


@dataclass
class RequestRecord:
    request_id: str
    status: int = 500  # until a response starts: a request that fails before one is a server error
    caller: str | None = None  # "org" or "user": the kind of caller, never who or the token
    operation_type: str = "none"  # query, mutation or subscription once a GraphQL operation ran
    operation_name: str | None = None
    error_codes: list[str] = field(default_factory=list)  # each error's extensions.code, in order

    @property
    def outcome(self) -> str:
        """error: an error status, or a GraphQL error in a 200 answer."""
        return "error" if self.status >= 400 or self.error_codes else "ok"
