"""How a request's bytes are read into a request: h11's parser, made stricter where its
leniency lets a request through that RFC 9112 refuses, or leaves a client waiting."""

import re
from typing import Any

import h11

# A longer request line and headers are refused (431), as h11 refuses a longer incomplete head.
MAX_HEAD_BYTES = 16 * 1024
# Enough of a head to read its target from, when the head itself is refused.
_HEAD_START_BYTES = 2048

# RFC 9112, section 3.2.2: an absolute-form target, as a client speaking to a proxy sends it.
_ABSOLUTE_FORM = re.compile(rb"https?://([^/?#]+)([^#]*)", re.IGNORECASE)

# A longer chunk size line is refused: its extensions are for nobody here, and checking a line
# that trickles in rescans it at each arrival.
MAX_SIZE_LINE_BYTES = 1024
# A chunk's size line as h11 reads it (h11._abnf.chunk_header): 1-20 hex digits, an extension,
# whitespace, CRLF; and what can begin one.
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\n]*)?[ \t]*\r\n")
_SIZE_LINE_START = re.compile(rb"[0-9A-Fa-f]{0,20}|[0-9A-Fa-f]{1,20}(?:;[^\n]*|[ \t]*\r?)")


class ChunkFraming:
    """Follows a chunked body's framing as its bytes arrive, and says what is wrong at the first
    byte a chunk's size line cannot go on with. h11 reads a size line only once it is whole, so
    a client that sent a bad one and waited held its connection until the body's deadline. The
    trailer section after the last chunk is left to h11."""

    def __init__(self) -> None:
        self.error: str | None = None
        self._line = bytearray()  # the size line so far
        self._skip = 0  # bytes before the next size line: the rest of a chunk's data, its CRLF
        self._in_trailer = False

    def feed(self, data: bytes) -> None:
        at = 0
        while at < len(data) and self.error is None and not self._in_trailer:
            if self._skip:
                step = min(self._skip, len(data) - at)
                self._skip, at = self._skip - step, at + step
                continue
            end = data.find(b"\n", at)
            stop = len(data) if end < 0 else end + 1
            self._line += data[at:stop]
            at = stop
            match = _SIZE_LINE.fullmatch(self._line) if end >= 0 else None
            if len(self._line) > MAX_SIZE_LINE_BYTES:
                self.error = f"a chunk's size line is longer than {MAX_SIZE_LINE_BYTES} bytes"
            elif match is not None:
                size = int(match[1], 16)
                self._skip, self._in_trailer = size + 2, size == 0
                self._line.clear()
            elif end >= 0 or not _SIZE_LINE_START.fullmatch(self._line):
                self.error = f"a chunk's size line is malformed: {bytes(self._line[:40])!r}"


class CheckedConnection(h11.Connection):
    """h11's server side, stricter:

    - a request with both Content-Length and Transfer-Encoding is refused: h11 reads its body by
      the latter, so that a second request hidden in it would reach the app (RFC 9112, 6.3);
    - a head (request line and headers) of more than MAX_HEAD_BYTES is refused however its bytes
      arrive: h11 caps only a head still incomplete, so a longer one arriving at once passed;
    - an absolute-form target (`POST http://host/graphql`) is read as the path it names, with
      its authority as the Host (RFC 9112, 3.2.2), rather than as a path that is never found;
    - a chunked body's bad framing is refused at once (ChunkFraming).

    `refusal` is the last error raised, and `method` and `target` those of the request being
    read, also of one whose head was refused, so that a refusal can say what is wrong in the
    shape of the part of the API the request was meant for, and answer a HEAD without a body."""

    def __init__(self) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.method, self.target = b"", b""
        self.refusal = h11.RemoteProtocolError("no request was refused")
        self._head_bytes = 0  # received from the start of the next head on
        self._head_start = bytearray()
        self._chunks: ChunkFraming | None = None

    def receive_data(self, data: bytes) -> None:
        super().receive_data(data)
        self._head_bytes += len(data)
        if len(self._head_start) < _HEAD_START_BYTES:
            self._head_start += data[: _HEAD_START_BYTES - len(self._head_start)]
        if self._chunks is not None:
            self._chunks.feed(data)

    def next_event(self) -> Any:
        reading_head = self.their_state is h11.IDLE
        try:
            return self._next_checked_event()
        except h11.RemoteProtocolError as error:
            self.refusal = error
            if reading_head:
                line = bytes(self._head_start).partition(b"\n")[0].split()
                self.method, self.target, *_ = [*line, b"", b""]
            raise

    def _next_checked_event(self) -> Any:
        if self._chunks is not None and self._chunks.error is not None:
            raise h11.RemoteProtocolError(self._chunks.error)
        event = super().next_event()
        if isinstance(event, h11.Request):
            return self._checked(event)
        if isinstance(event, h11.EndOfMessage):
            # What follows a request's end begins the next one.
            pending = self.trailing_data[0]
            self._head_bytes, self._head_start = len(pending), bytearray(pending[:_HEAD_START_BYTES])
            self._chunks, self.method = None, b""
        return event

    def _checked(self, request: h11.Request) -> h11.Request:
        request = _origin_form(request)
        self.method, self.target = request.method, request.target
        pending = self.trailing_data[0]  # what came after the head
        if self._head_bytes - len(pending) > MAX_HEAD_BYTES:
            message = f"the request line and headers are longer than {MAX_HEAD_BYTES} bytes"
            raise h11.RemoteProtocolError(message, error_status_hint=431)
        names = {name for name, _ in request.headers}  # lower case, as h11 gives them
        if b"content-length" in names and b"transfer-encoding" in names:
            raise h11.RemoteProtocolError("the request has both Content-Length and Transfer-Encoding")
        if b"transfer-encoding" in names:  # chunked: h11 refuses any other coding
            self._chunks = ChunkFraming()
            self._chunks.feed(pending)
            if self._chunks.error is not None:
                raise h11.RemoteProtocolError(self._chunks.error)
        return request


def _origin_form(request: h11.Request) -> h11.Request:
    match = _ABSOLUTE_FORM.fullmatch(request.target)
    if match is None:
        return request
    authority, rest = match.groups()
    headers = [(name, value) for name, value in request.headers.raw_items() if name.lower() != b"host"]
    return h11.Request(
        method=request.method,
        target=rest if rest.startswith(b"/") else b"/" + rest,
        headers=[(b"Host", authority), *headers],
        http_version=request.http_version,
    )


def path_of(target: bytes) -> str:
    """The path a request target names, in origin or absolute form."""
    match = _ABSOLUTE_FORM.fullmatch(target)
    return (match[2] if match else target).partition(b"?")[0].decode("latin-1")
