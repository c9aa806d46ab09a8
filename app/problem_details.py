"""Errors as RFC 9457 problem details, in the shape ASP.NET Core writes for an [ApiController]
(type, title, status, traceId; a bad parameter under `errors`, keyed by its name), as Altinn
Storage answers. Here `detail` says what is wrong, `code` is the gateway's error code (GraphQL's
extensions.code) and `traceId` the request's X-Request-ID. The REST edge answers with them, and
so does the HTTP edge for a request under /storage/ that never reached an endpoint."""

import json
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"

# The `type` ASP.NET Core gives each status: the section of RFC 9110 that defines it.
PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
}
VALIDATION_TITLE = "One or more validation errors occurred."


def json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # A stored text with a lone surrogate (possible on the embedded store): escaped, not refused.
        return json.dumps(value, ensure_ascii=True).encode()


def problem(
    status: int,
    detail: str,
    code: str,
    trace_id: str,
    *,
    parameter: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPES.get(status, "about:blank"),  # RFC 9457: no more than its status
        "title": VALIDATION_TITLE if parameter is not None else HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "traceId": trace_id,
    }
    if parameter is not None:
        body["errors"] = {parameter: [detail]}
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return Response(json_bytes(body), status_code=status, headers=headers, media_type=PROBLEM_JSON)
