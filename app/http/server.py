"""The protocols uvicorn serves the app with: h11, hardened against slow and smuggling clients,
and WebSocket with a deadline for sends.

h11 rather than httptools, as h11 caps a request head at 16 KiB where httptools buffers heads of
any size. Neither times out a request that arrives slowly (uvicorn's keep-alive timeout runs only
between requests), and h11 serves a request with both Content-Length and Transfer-Encoding by the
latter, so that a second request hidden in its body reaches the app. GuardedH11Protocol closes
connections whose request head or body does not arrive in time, and refuses such requests with a
400 and a closed connection (RFC 9112, section 6.3).

A WebSocket send waits while the client does not read (the connection's buffer is full), and so
would the close frame meant to end it: GuardedWebSocketProtocol cuts such a connection."""

import asyncio
import functools
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from app.config import Settings

log = logging.getLogger("instance_gateway")

# A longer request line and headers are refused with 400 (h11's default, as uvicorn uses it).
MAX_HEAD_BYTES = 16 * 1024
ABNORMAL_CLOSURE = 1006  # a WebSocket that ended without a close frame


class _FramingCheckedConnection(h11.Connection):
    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name.lower() for name, _ in event.headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                # uvicorn answers a RemoteProtocolError with 400 and closes the connection.
                raise h11.RemoteProtocolError("both Content-Length and Transfer-Encoding")
        return event


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head (from its first byte, or
    from the connection's start) and one for its body (from the end of the head)."""

    def __init__(self, *args: Any, head_timeout: float, body_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _FramingCheckedConnection(h11.SERVER, MAX_HEAD_BYTES)
        self.timeouts = {"head": head_timeout, "body": body_timeout}
        self.awaiting: str | None = None  # the part of a request the deadline is for
        self.deadline: asyncio.TimerHandle | None = None
        self.upgraded = False  # to WebSocket: no more HTTP requests, no deadlines

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._watch(head_begun=True)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(head_begun=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Between requests the connection idles under uvicorn's keep-alive timeout; the next
        # head's deadline starts with its first byte.
        self._watch(head_begun=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_deadline(None)
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The connection is the WebSocket protocol's from here on: no request body is coming,
        # and the body's deadline would close a subscription that has only begun.
        self.upgraded = True
        self._set_deadline(None)
        super().handle_websocket_upgrade(event)

    def _watch(self, *, head_begun: bool) -> None:
        if self.upgraded:
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
        self.transport.close()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with a deadline for sends: once the client has left unread
    what fills the connection's buffer for `send_timeout` seconds, the connection is aborted,
    without the closing handshake that client would not read either. The app then receives
    the disconnect (1006), and its waiting sends fail, so that it frees what the connection held."""

    def __init__(self, *args: Any, send_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_timeout = send_timeout
        self.stalled: asyncio.TimerHandle | None = None

    def pause_writing(self) -> None:
        super().pause_writing()
        self.stalled = self.loop.call_later(self.send_timeout, self._abort)

    def resume_writing(self) -> None:
        self._cancel_stall()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_stall()
        super().connection_lost(exc)

    def _cancel_stall(self) -> None:
        if self.stalled is not None:
            self.stalled.cancel()
            self.stalled = None

    def _abort(self) -> None:
        log.info("aborting a WebSocket connection: its client has read nothing for %s s", self.send_timeout)
        self.stalled = None
        self.queue.put_nowait({"type": "websocket.disconnect", "code": ABNORMAL_CLOSURE})
        self.transport.abort()


def server_protocols(settings: Settings) -> dict[str, Any]:
    """uvicorn's protocol options: GuardedH11Protocol with the settings' timeouts for HTTP;
    for WebSocket, GuardedWebSocketProtocol with the settings' send deadline, messages no larger
    than a request body may be, and no per-message compression, which would cost each
    subscriber's every event a deflate of its own."""
    http = functools.partial(
        GuardedH11Protocol, head_timeout=settings.request_head_timeout_s, body_timeout=settings.request_body_timeout_s
    )
    ws = functools.partial(GuardedWebSocketProtocol, send_timeout=settings.websocket_send_timeout_s)
    return {"http": http, "ws": ws, "ws_max_size": settings.max_body_bytes, "ws_per_message_deflate": False}
