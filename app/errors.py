"""Errors a caller can act on; each carries the `extensions.code` the contract names."""


class GatewayError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class ServiceUnavailable(GatewayError):
    code = "SERVICE_UNAVAILABLE"


# The HTTP status of each code, where an edge answers over HTTP.
STATUS_OF_CODE = {
    BadUserInput.code: 400,
    Unauthenticated.code: 401,
    Forbidden.code: 403,
    NotFound.code: 404,
    ServiceUnavailable.code: 503,
}
_CODE_OF_STATUS = {status: code for code, status in STATUS_OF_CODE.items()}


def code_of_status(status: int) -> str:
    """The code of an HTTP error status: its own where it has one, else the client's mistake
    (4xx) or the gateway's failure (5xx)."""
    return _CODE_OF_STATUS.get(status, GatewayError.code if status >= 500 else BadUserInput.code)
