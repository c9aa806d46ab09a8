"""The protocols uvicorn serves the app with: h11, hardened against slow, smuggling and
malformed requests, and WebSocket with a deadline for sends.

h11 rather than httptools, as h11 caps a request head where httptools buffers heads of any size;
CheckedConnection makes h11 stricter still. Neither times out a request that arrives slowly
(uvicorn's keep-alive timeout runs only between requests): GuardedH11Protocol closes connections
whose request head or body does not arrive in time. A request the parser refuses gets a JSON
answer saying why (uvicorn's is plain text), and its connection is closed lingeringly.

A WebSocket send waits while the client does not read (the connection's buffer is full), and so
would the close frame meant to end it: GuardedWebSocketProtocol cuts such a connection."""

import asyncio
import functools
import logging
import uuid
from http import HTTPStatus
from typing import Any

import h11
from starlette.status import WS_1006_ABNORMAL_CLOSURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from app.config import Settings
from app.http.edge_errors import edge_error
from app.http.framing import CheckedConnection, path_of
from app.http.lingering import LingeringTransport

log = logging.getLogger("instance_gateway")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head (from its first byte, or
    from the connection's start) and one for its body (from the end of the head); a request
    answered before its body has arrived ends its connection."""

    def __init__(self, *args: Any, head_timeout: float, body_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = CheckedConnection()
        self.timeouts = {"head": head_timeout, "body": body_timeout}
        self.awaiting: str | None = None  # the part of a request the deadline is for
        self.deadline: asyncio.TimerHandle | None = None
        self.upgraded = False  # to WebSocket: no more HTTP requests, no deadlines

    def connection_made(self, transport: asyncio.Transport) -> None:
        lingering = LingeringTransport(transport, self.loop, self._client_may_be_sending)
        super().connection_made(lingering)  # type: ignore[arg-type]  # uvicorn's transport from here on
        self._watch(head_begun=True)

    def data_received(self, data: bytes) -> None:
        if self.transport.lingering:
            self.transport.discard(data)
            return
        super().data_received(data)
        self._watch(head_begun=True)

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request the parser refused.
        if self.cycle is not None and not self.cycle.response_complete:
            # The app reading the request is told the client has gone, and answers nothing.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # no answer begun
            self._refuse(self.conn.refusal)
        self.transport.close()

    def on_response_complete(self) -> None:
        if self.conn.their_state is h11.SEND_BODY:
            # Answered before the body came (a 413, a 401): reading on only to discard it could
            # take as long as the client likes, so the connection ends here.
            self.transport.close()
        super().on_response_complete()
        # Between requests the connection idles under uvicorn's keep-alive timeout; the next
        # head's deadline starts with its first byte.
        self._watch(head_begun=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_deadline(None)
        self.transport.lost()  # never called once upgraded: the WebSocket protocol has the transport
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The connection is the WebSocket protocol's from here on: no request body is coming,
        # and the body's deadline would close a subscription that has only begun.
        self.upgraded = True
        self._set_deadline(None)
        self.transport = self.transport.transport
        super().handle_websocket_upgrade(event)

    def _client_may_be_sending(self) -> bool:
        return not self.upgraded and self.conn.their_state in (h11.SEND_BODY, h11.ERROR)

    def _refuse(self, refusal: h11.RemoteProtocolError) -> None:
        status, trace_id = refusal.error_status_hint, uuid.uuid4().hex
        log.info("refused a malformed request: %s", refusal, extra={"request_id": trace_id})
        message = f"The request is malformed: {refusal}"
        answer = edge_error(path_of(self.conn.target), status, message, "BAD_USER_INPUT", trace_id)
        headers = [*answer.raw_headers, (b"connection", b"close"), (b"x-request-id", trace_id.encode())]
        events = [h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase.encode())]
        if self.conn.method != b"HEAD":
            # A HEAD is answered with the head alone; h11, which may not have read the request's
            # method, would end that answer only after the body its Content-Length declares.
            events += [h11.Data(data=answer.body), h11.EndOfMessage()]
        for event in events:
            self.transport.write(self.conn.send(event))

    def _watch(self, *, head_begun: bool) -> None:
        if self.upgraded or self.transport.lingering:
            self._set_deadline(None)
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._set_deadline("body")
        elif state is h11.IDLE and (head_begun or self.awaiting == "head"):
            self._set_deadline("head")
        else:
            self._set_deadline(None)

    def _set_deadline(self, part: str | None) -> None:
        if part == self.awaiting:
            return  # a deadline runs from the start of its part, however the bytes trickle in
        if self.deadline is not None:
            self.deadline.cancel()
        self.awaiting = part
        self.deadline = None if part is None else self.loop.call_later(self.timeouts[part], self._time_out)

    def _time_out(self) -> None:
        log.info("closing a connection: the request %s did not arrive in time", self.awaiting)
        self.awaiting, self.deadline = None, None
        self.transport.close_at_once()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with a deadline for sends: once the client has left unread
    what fills the connection's buffer for `send_timeout` seconds, or what is buffered before a
    close frame, the connection is aborted, without the closing handshake that client would not
    read either. So is one whose client answers no ping in time: uvicorn would send it a close
    frame and wait for it to be read, and fail the app's next send. The app then receives the
    disconnect (1006), and its waiting sends fail, so that it frees what the connection held."""

    def __init__(self, *args: Any, send_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_timeout = send_timeout
        self.stalled: asyncio.TimerHandle | None = None
        self.closing = False  # a close frame is sent or on its way: the connection ends once it is

    def pause_writing(self) -> None:
        super().pause_writing()
        self._watch_stall()

    def resume_writing(self) -> None:
        self._cancel_stall()
        super().resume_writing()
        if self.closing:
            self._watch_stall()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.close":
            self._close_begun()

    def handle_close(self, event: Any) -> None:
        super().handle_close(event)
        self._close_begun()

    def shutdown(self) -> None:
        super().shutdown()
        self._close_begun()

    def keepalive_timeout(self) -> None:
        self.pong_timer, self.pending_ping_payload = None, None
        if not (self.close_sent or self.transport.is_closing()):
            self._abort(f"its client answered no ping within {self.ping_timeout} s")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_stall()
        super().connection_lost(exc)

    def _close_begun(self) -> None:
        # A closed transport waits to send what is buffered for as long as the client does not
        # read it, however little that is.
        self.closing = True
        self._watch_stall()

    def _watch_stall(self) -> None:
        if self.stalled is None and self.transport.get_write_buffer_size():
            self.stalled = self.loop.call_later(self.send_timeout, self._stall_ended)

    def _cancel_stall(self) -> None:
        if self.stalled is not None:
            self.stalled.cancel()
            self.stalled = None

    def _stall_ended(self) -> None:
        self.stalled = None
        if self.transport.get_write_buffer_size():
            self._abort(f"its client has read nothing for {self.send_timeout} s")

    def _abort(self, why: str) -> None:
        log.info("aborting a WebSocket connection: %s", why)
        self._cancel_stall()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": WS_1006_ABNORMAL_CLOSURE})
        self.transport.abort()


def server_protocols(settings: Settings) -> dict[str, Any]:
    """uvicorn's protocol options: GuardedH11Protocol with the settings' timeouts for HTTP;
    for WebSocket, GuardedWebSocketProtocol with the settings' send deadline, which is also how
    long a ping may go unanswered, a ping as often as a keep-alive message, messages no larger
    than a request body may be, and no per-message compression, which would cost each
    subscriber's every event a deflate of its own."""
    http = functools.partial(
        GuardedH11Protocol, head_timeout=settings.request_head_timeout_s, body_timeout=settings.request_body_timeout_s
    )
    ws = functools.partial(GuardedWebSocketProtocol, send_timeout=settings.websocket_send_timeout_s)
    return {
        "http": http,
        "ws": ws,
        "ws_ping_interval": settings.subscription_keepalive_s,
        "ws_ping_timeout": settings.websocket_send_timeout_s,
        "ws_max_size": settings.max_body_bytes,
        "ws_per_message_deflate": False,
    }
