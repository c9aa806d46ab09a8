"""Answers to requests that reach no endpoint: a request h11 or the server refuses, an unknown
path, a method a path does not take. Each is JSON in the shape its part of the API answers
errors in: problem details under /storage/ (Altinn's REST calls), GraphQL's elsewhere."""

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import BadUserInput, Forbidden, GatewayError, NotFound, ServiceUnavailable, Unauthenticated
from app.problem_details import problem

REST_PREFIX = "/storage/"


def edge_error(
    path: str, status: int, message: str, code: str, trace_id: str, headers: dict[str, str] | None = None
) -> Response:
    if path.startswith(REST_PREFIX):
        return problem(status, message, code, trace_id, headers=headers)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


async def unrouted(request: Request, error: Exception) -> Response:
    """Starlette's HTTPExceptions (an unknown path, a method a route does not take) as JSON."""
    assert isinstance(error, HTTPException)  # the one exception class this handles
    path, record = request.url.path, request.state.request_record
    code = _code_of(error.status_code)
    if error.status_code == 404:
        message = f"Nothing is served at {path}: GraphQL is at /graphql, Altinn's REST calls under /storage/api/v1/"
    elif error.status_code == 405:
        message = f"{request.method} is not allowed on {path}: it takes {(error.headers or {}).get('Allow')}"
    else:
        message = error.detail
    record.error_codes = [code]
    return edge_error(path, error.status_code, message, code, record.request_id, error.headers)


# The code of each status an HTTPException may carry that has one of its own; any other is the
# client's mistake (4xx) or the gateway's failure (5xx).
_CODES = {
    401: Unauthenticated.code,
    403: Forbidden.code,
    404: NotFound.code,
    405: BadUserInput.code,  # the method, which the client chose
    503: ServiceUnavailable.code,
}


def _code_of(status: int) -> str:
    return _CODES.get(status, GatewayError.code if status >= 500 else BadUserInput.code)
