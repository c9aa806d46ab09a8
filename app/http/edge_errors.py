"""Answers to requests that reach no endpoint: a request h11 or the server refuses, an unknown
path, a method a path does not take. Each is JSON in the shape its part of the API answers
errors in: problem details under /storage/ (Altinn's REST calls), GraphQL's elsewhere."""

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import code_of_status
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
    code = code_of_status(error.status_code)
    if error.status_code == 404:
        message = f"Nothing is served at {path}: GraphQL is at /graphql, Altinn's REST calls under /storage/api/v1/"
    elif error.status_code == 405:
        message = f"{request.method} is not allowed on {path}: it takes {(error.headers or {}).get('Allow')}"
    else:
        message = error.detail
    record.error_codes = [code]
    return edge_error(path, error.status_code, message, code, record.request_id, error.headers)
