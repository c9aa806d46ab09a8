"""GraphQL over WebSocket at /graphql: the `graphql-transport-ws` protocol and the older
`graphql-ws` (subscriptions-transport-ws), for subscriptions and any other operation.

The token comes in the `connection_init` payload (`{"Authorization": "Bearer ..."}`, or
`{"headers": {"Authorization": ...}}` as some clients send it), or on the upgrade request where
the client can set headers. Without a valid one the connection is closed with 4401 before
anything is sent (but, in `graphql-ws`, a `connection_error`), and with 4400 if either place
holds more than one: as over HTTP, none is chosen. It is closed again when the token expires.
Each operation runs through the same schema, limits and error codes as over HTTP, and leaves its
metrics and a request log line with the code its connection closed with, if that ended it. A client
that reads nothing is cut off by the server's send deadline (server.py).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.status import WS_1005_NO_STATUS_RCVD, WS_1006_ABNORMAL_CLOSURE
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.http import process_result
from strawberry.types.execution import PreExecutionError

from app.authorization.identity import Caller, InvalidToken, KeysUnavailable, bearer_token
from app.config import Settings
from app.errors import BadUserInput, GatewayError
from app.graphql.compiled.encoded import dumps
from app.graphql.errors import INTERNAL_MESSAGE
from app.graphql.persisted import PersistedDocuments
from app.http.observability import log_request, request_id_of
from app.http.request_json import InvalidJSON, decode_object
from app.request_record import RequestRecord

log = logging.getLogger("instance_gateway")

TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"
# Close codes of graphql-transport-ws, used for both protocols.
INVALID_MESSAGE, UNAUTHORIZED, NOT_ACCEPTABLE, INIT_TIMEOUT, DUPLICATE_ID, TOO_MANY_INITS = (
    4400, 4401, 4406, 4408, 4409, 4429,
)  # fmt: skip
TRY_AGAIN_LATER = 1013  # a subscriber that fell too far behind: reconnect and catch up with a query
SWITCHING_PROTOCOLS = 101  # the status of the upgrade every operation of a connection runs on
CLOSE_REASON_BYTES = 123  # what a close frame can carry


@dataclass(frozen=True)
class _Messages:
    """The message types of one protocol."""

    subscribe: str
    stop: str
    result: str
    keep_alive: dict[str, str]


_PROTOCOLS = {
    TRANSPORT_WS: _Messages(subscribe="subscribe", stop="complete", result="next", keep_alive={"type": "ping"}),
    LEGACY_WS: _Messages(subscribe="start", stop="stop", result="data", keep_alive={"type": "ka"}),
}


class GraphQLWebSocket:
    """The ASGI endpoint for WebSocket scopes at /graphql."""

    def __init__(self, schema: Any, settings: Settings, documents: PersistedDocuments) -> None:
        self.schema = schema
        self.settings = settings
        self.documents = documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        offered = scope.get("subprotocols") or []
        protocol = next((p for p in (TRANSPORT_WS, LEGACY_WS) if p in offered), None)
        if protocol is None:
            await websocket.accept()
            await websocket.close(NOT_ACCEPTABLE, "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
            return
        await websocket.accept(subprotocol=protocol)
        connection = _Connection(self, websocket, protocol)
        try:
            await connection.serve()
        finally:
            await connection.stop()


class _Connection:
    def __init__(self, endpoint: GraphQLWebSocket, websocket: WebSocket, protocol: str) -> None:
        self.schema = endpoint.schema
        self.settings = endpoint.settings
        self.documents = endpoint.documents
        self.websocket = websocket
        self.protocol = protocol
        self.messages = _PROTOCOLS[protocol]
        self.services = websocket.app.state.services
        self.metrics = websocket.app.state.metrics
        self.request_id = request_id_of(websocket.scope)
        self.caller: Caller | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.timers: list[asyncio.Task[None]] = []
        self.closed = False
        self.close_code: int | None = None  # the first known: the gateway's, or else the client's

    async def serve(self) -> None:
        self.timers.append(asyncio.create_task(self._close_unless_initialised()))
        try:
            while not self.closed:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    self._closed_with(message.get("code", WS_1005_NO_STATUS_RCVD))
                    return
                await self._handle(message.get("text"))
        except WebSocketDisconnect as gone:
            self._closed_with(gone.code)

    async def stop(self) -> None:
        self.closed = True
        for task in [*self.timers, *self.operations.values()]:
            task.cancel()
        for task in [*self.timers, *self.operations.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.operations.clear()

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._closed_with(code)
        await self._close_frame(code, reason)

    async def refuse_caller(self, code: int, reason: str) -> None:
        """Close a connection whose caller cannot be told who they are."""
        if self.protocol == LEGACY_WS:
            # subscriptions-transport-ws tells its user of a connection_error; after a close
            # alone it reconnects, again and again, and says nothing.
            await self.send({"type": "connection_error", "payload": {"message": reason}})
        await self.close(code, reason)

    def _closed_with(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code

    async def _close_frame(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            if self.websocket.application_state is not WebSocketState.DISCONNECTED:
                await self.websocket.close(code, reason.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore"))

    async def send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            await self._send_now(message)

    async def _send_now(self, message: dict[str, Any]) -> None:
        try:
            await self.websocket.send_text(dumps(message).decode())
        except (WebSocketDisconnect, RuntimeError) as gone:
            # The client is gone or was cut off, or the server closed the connection on its own
            # and refuses sends (a RuntimeError, as uvicorn's after its ping timeout): nothing
            # more is sent, and serve() ends the rest once the disconnect reaches it.
            self.closed = True
            self._closed_with(gone.code if isinstance(gone, WebSocketDisconnect) else WS_1006_ABNORMAL_CLOSURE)

    async def _handle(self, text: str | None) -> None:
        try:
            message = decode_object(text) if text is not None else None
        except InvalidJSON:
            message = None
        kind = message.get("type") if message is not None else None
        if message is None or not isinstance(kind, str):
            await self.close(INVALID_MESSAGE, "Invalid message: send JSON objects with a `type` as text frames")
            return
        if kind == "connection_init":
            await self._initialise(message.get("payload"))
        elif kind == "ping" and self.protocol == TRANSPORT_WS:
            await self.send({"type": "pong", **({"payload": message["payload"]} if "payload" in message else {})})
        elif kind == "pong" and self.protocol == TRANSPORT_WS:
            pass
        elif kind == self.messages.subscribe:
            await self._subscribe(message)
        elif kind == self.messages.stop:
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        elif kind == "connection_terminate" and self.protocol == LEGACY_WS:
            await self.close(1000, "terminated by the client")
        else:
            await self.close(INVALID_MESSAGE, f"Invalid message: unknown type {kind!r} for {self.protocol}")

    async def _initialise(self, payload: Any) -> None:
        if self.caller is not None:
            await self.close(TOO_MANY_INITS, "Too many initialisation requests")
            return
        try:
            self.caller, expires = await self._authenticate(payload)
        except InvalidToken as error:
            await self.refuse_caller(UNAUTHORIZED, f"Unauthorized: {error}")
            return
        except BadUserInput as error:
            await self.refuse_caller(INVALID_MESSAGE, f"Invalid message: {error}")
            return
        except KeysUnavailable as error:
            await self.close(TRY_AGAIN_LATER, f"Try again later: {error}")
            return
        await self.send({"type": "connection_ack"})
        self.timers.append(asyncio.create_task(self._keep_alive()))
        self.timers.append(asyncio.create_task(self._close_at(expires)))

    async def _authenticate(self, payload: Any) -> tuple[Caller, int]:
        on_upgrade = _one_authorization("upgrade request", self.websocket.headers.getlist("authorization"))
        header = _one_authorization("connection_init payload", _authorizations_in(payload))
        if header is not None and not isinstance(header, str):
            raise InvalidToken("the connection_init payload's Authorization must be a string")
        token = bearer_token(header if header is not None else on_upgrade)
        if token is None:
            raise InvalidToken('no token: send {"Authorization": "Bearer <JWT>"} as the connection_init payload')
        return await self.services.verifier.verify_with_expiry(token)

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if self.caller is None:
            await self.refuse_caller(UNAUTHORIZED, "Unauthorized: send connection_init with a token first")
            return
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
            await self.close(INVALID_MESSAGE, "Invalid message: a subscribe needs a string `id` and a `payload` object")
            return
        if operation_id in self.operations:
            await self.close(DUPLICATE_ID, f"Subscriber for {operation_id} already exists")
            return
        limit = self.settings.subscriptions_per_connection
        if len(self.operations) >= limit:
            refusal = _bad_input(f"at most {limit} operations may run on one connection")
            with self._operation() as record:
                await self._refuse(operation_id, record, refusal)
            return
        task = asyncio.create_task(self._run(operation_id, payload))
        self.operations[operation_id] = task
        task.add_done_callback(lambda _: self._forget(operation_id, task))

    def _forget(self, operation_id: str, task: asyncio.Task[None]) -> None:
        if self.operations.get(operation_id) is task:
            del self.operations[operation_id]

    @contextlib.contextmanager
    def _operation(self) -> Iterator[RequestRecord]:
        """The record of one operation; once it ends, its metrics and its log line."""
        record = RequestRecord(self.request_id, status=SWITCHING_PROTOCOLS)
        started = time.perf_counter()
        try:
            yield record
        finally:
            record.close_code = self.close_code
            seconds = time.perf_counter() - started
            self.metrics.record(record, seconds)
            # No database time: counting a subscription's calls as a request's (DatabaseCalls)
            # would fail all its later calls at once after one found the database down.
            log_request(self.websocket.scope, record, seconds, database_seconds=None)

    async def _run(self, operation_id: str, payload: dict[str, Any]) -> None:
        with self._operation() as record:
            try:
                payload = self.documents.resolve(payload)  # a document named by its hash, or refused
            except GatewayError as error:
                await self._refuse(operation_id, record, _error(error.message, error.code))
                return
            query, variables, name = payload.get("query"), payload.get("variables"), payload.get("operationName")
            if not isinstance(query, str) or not isinstance(variables, dict | None) or not isinstance(name, str | None):
                await self._refuse(operation_id, record, _bad_input("the payload needs a `query` string"))
                return
            context = self.services.context_for_caller(
                self.caller, record, live=self.services.live, subscriber_overflow=self._too_slow
            )
            try:
                results = await self.schema.stream(query, variables, context, operation_name=name)
                async for result in results:
                    if isinstance(result, PreExecutionError):
                        await self._send_errors(operation_id, [error.formatted for error in result.errors or []])
                        return
                    answer = process_result(result)
                    await self.send({"type": self.messages.result, "id": operation_id, "payload": answer})
                await self.send({"type": "complete", "id": operation_id})
            except Exception:
                # Strawberry answers errors inside the operation; this is the gateway's own failure.
                log.exception("a WebSocket operation failed", extra={"request_id": self.request_id})
                extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": self.request_id}
                await self._refuse(operation_id, record, {"message": INTERNAL_MESSAGE, "extensions": extensions})

    async def _refuse(self, operation_id: str, record: RequestRecord, error: dict[str, Any]) -> None:
        """Answer an operation with an error GraphQL did not make, noting its code."""
        record.error_codes.append(error["extensions"]["code"])
        await self._send_errors(operation_id, [error])

    async def _send_errors(self, operation_id: str, errors: list[dict[str, Any]]) -> None:
        if self.protocol == TRANSPORT_WS:
            await self.send({"type": "error", "id": operation_id, "payload": errors})
        else:  # graphql-ws reports request errors as a result, then completes
            await self.send({"type": "data", "id": operation_id, "payload": {"data": None, "errors": errors}})
            await self.send({"type": "complete", "id": operation_id})

    def _too_slow(self, reason: str) -> None:
        if not self.closed:
            self.closed = True  # at once: nothing more is sent before the close frame
            self._closed_with(TRY_AGAIN_LATER)
            self.timers.append(asyncio.create_task(self._close_frame(TRY_AGAIN_LATER, reason)))

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.settings.connection_init_timeout_s)
        if self.caller is None:
            await self.close(INIT_TIMEOUT, "Connection initialisation timeout")

    async def _close_at(self, expires: float) -> None:
        await asyncio.sleep(max(0.0, expires - time.time()))
        await self.refuse_caller(UNAUTHORIZED, "Unauthorized: the token has expired")

    async def _keep_alive(self) -> None:
        while not self.closed:
            if self.protocol == LEGACY_WS:
                await self.send(self.messages.keep_alive)
            await asyncio.sleep(self.settings.subscription_keepalive_s)
            if self.protocol == TRANSPORT_WS:
                await self.send(self.messages.keep_alive)


def _authorizations_in(payload: Any) -> list[Any]:
    """The Authorizations of a connection_init payload, by any case of their name: at its top,
    and in its `headers` (as Apollo's and urql's users often put it)."""
    if not isinstance(payload, dict):
        return []
    headers = payload.get("headers")
    fields = [*payload.items(), *(headers.items() if isinstance(headers, dict) else [])]
    return [value for name, value in fields if name.lower() == "authorization" and value is not None]


def _one_authorization(where: str, values: list[Any]) -> Any:
    if len(values) > 1:
        # Clients and proxies differ in which of two they would take: neither is chosen.
        raise BadUserInput(f"the {where} has {len(values)} Authorization fields: send one")
    return values[0] if values else None


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def _bad_input(message: str) -> dict[str, Any]:
    return _error(message, BadUserInput.code)
