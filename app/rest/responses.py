"""The REST edge's answers: JSON bodies, and errors as problem details (app/problem_details.py)
with the status of their code."""

from typing import Any

from starlette.responses import Response

from app.errors import STATUS_OF_CODE, GatewayError
from app.problem_details import json_bytes, problem

JSON = "application/json"


def json_answer(body: Any) -> Response:
    return Response(json_bytes(body), media_type=JSON)


INTERNAL_ERROR = "The gateway failed to answer; its log has the details under this traceId."


def problem_of(error: GatewayError, trace_id: str) -> Response:
    status = STATUS_OF_CODE.get(error.code)
    if status is None:
        return problem(500, INTERNAL_ERROR, "INTERNAL_SERVER_ERROR", trace_id)
    return problem(status, error.message, error.code, trace_id, parameter=getattr(error, "parameter", None))
