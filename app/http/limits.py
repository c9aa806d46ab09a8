"""The request body limit, applied before the body is parsed: at once by a declared
Content-Length, and while a chunked body streams in, so that no request holds more than the
limit (plus one chunk) in memory."""

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than the limit of {limit} bytes")


def receive_within(limit: int, scope: Scope, receive: Receive) -> Receive:
    """`receive` for a body of at most `limit` bytes: raises BodyTooLarge when the declared
    Content-Length is larger, and as soon as the bytes received pass the limit."""
    declared = Headers(scope=scope).get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    received = 0

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge(limit)
        return message

    return receive_counted
