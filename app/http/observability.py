"""Every request gets an id (the caller's X-Request-ID when it is sane), echoed in the
response, and leaves one JSON log line and its figures in the metrics.

Pure ASGI middleware, so that streamed responses pass through unbuffered."""

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import Metrics
from app.request_record import RequestRecord
from app.store.database import DatabaseCalls, current_calls

REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

# The operators' own endpoints: probes and scrapes every few seconds are not the gateway's
# traffic, so they stay out of the metrics and log at DEBUG.
OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# Error answers made before GraphQL runs (401, 400, 413, ...) carry their codes in the body
# alone; such bodies are small, and no more than this is read of one.
_ERROR_BODY_LIMIT = 64 * 1024

request_log = logging.getLogger("instance_gateway.requests")


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is 1-128 characters of [A-Za-z0-9._-], else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            given = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


class Observability:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(request_id_of(scope))
        scope.setdefault("state", {})["request_record"] = record
        quiet = scope["path"] in OPERATIONS_PATHS
        error_body = bytearray()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message = {**message, "headers": [*message["headers"], (REQUEST_ID_HEADER, record.request_id.encode())]}
            elif record.status >= 400 and not record.error_codes and len(error_body) < _ERROR_BODY_LIMIT:
                error_body.extend(message.get("body", b"")[: _ERROR_BODY_LIMIT - len(error_body)])
            await send(message)

        calls = DatabaseCalls(self.metrics.database_seconds.observe)
        token = current_calls.set(None if quiet else calls)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            current_calls.reset(token)
            if not record.error_codes:
                record.error_codes = _error_codes(bytes(error_body))
            if not quiet:
                self.metrics.record(record, seconds)
            log_request(scope, record, seconds, calls.seconds, logging.DEBUG if quiet else logging.INFO)


def _error_codes(body: bytes) -> list[str]:
    try:
        errors = json.loads(body)["errors"]
        return [str(e["extensions"]["code"]) for e in errors]
    except (ValueError, TypeError, KeyError):
        return []


def log_request(
    scope: Scope, record: RequestRecord, seconds: float, database_seconds: float | None, level: int = logging.INFO
) -> None:
    """The log line of an HTTP request, or of one operation over a WebSocket (`scope` is then
    the connection's): that one's method is WEBSOCKET, and it adds how its connection closed."""
    method = scope.get("method", "WEBSOCKET")
    fields: dict[str, Any] = {
        "request_id": record.request_id,
        "method": method,
        "path": scope["path"],
        "status": record.status,
        "outcome": record.outcome,
        "duration_ms": round(seconds * 1000, 1),
        "database_ms": None if database_seconds is None else round(database_seconds * 1000, 1),
        "caller": record.caller,
        "operation": record.operation_type,
        "operation_name": record.operation_name,
        "error_codes": sorted(set(record.error_codes)),
    }
    if scope["type"] == "websocket":
        fields["close_code"] = record.close_code
    request_log.log(level, "%s %s %d", method, scope["path"], record.status, extra=fields)
