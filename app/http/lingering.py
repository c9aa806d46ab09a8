"""Closing a connection lingeringly (RFC 9112, section 9.6) while its client may still be
sending. A socket closed with bytes unread sends a reset, and a reset can destroy the answer
before the client has read it: a client that sends a whole body before reading (Python's urllib,
say) saw a reset instead of a 413."""

import asyncio
from collections.abc import Callable
from typing import Any

# How long, and how much, a closing connection reads on for the client to finish sending.
LINGER_S = 5.0
LINGER_BYTES = 64 * 1024 * 1024


class LingeringTransport:
    """A connection's transport, whose close() first ends the writing side only, then reads on
    and discards (see `discard`) until the client ends its side, or LINGER_S or LINGER_BYTES
    have passed; when the client cannot be sending any more, it closes at once. A connection
    given up on is aborted: a close would wait for what is buffered to be read, for as long as
    the client does not read it."""

    def __init__(
        self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, may_be_sending: Callable[[], bool]
    ) -> None:
        self.transport = transport
        self.lingering = False
        self._loop = loop
        self._may_be_sending = may_be_sending
        self._discarded = 0
        self._deadline: asyncio.TimerHandle | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self.transport.is_closing()

    def close(self) -> None:
        if self.transport.is_closing():
            self.lost()
            return
        if self.lingering:
            return
        if not self._may_be_sending() or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.lingering = True
        self.transport.write_eof()  # after what is still buffered to be sent
        self.transport.resume_reading()
        self._deadline = self._loop.call_later(LINGER_S, self.transport.abort)

    def close_at_once(self) -> None:
        self.transport.abort()

    def lost(self) -> None:
        """The connection is gone, however it ended."""
        if self._deadline is not None:
            self._deadline.cancel()

    def discard(self, data: bytes) -> None:
        """What arrives while lingering."""
        self._discarded += len(data)
        if self._discarded > LINGER_BYTES:
            self.transport.abort()
