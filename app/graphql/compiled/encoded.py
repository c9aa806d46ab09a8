"""Root fields answered already encoded: the compiled execution encodes a page one instance at a
time as it is built, so the page's documents, the objects built of them and the response are
never all in memory at once. The HTTP edge sends the parts as they are; anything else that
encodes a result (the WebSocket) joins them with `dumps`."""

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

# A response no larger than this is sent in one piece; a larger one in chunks of this size.
CHUNK_BYTES = 256 * 1024


class EncodedJSON:
    """A value encoded as JSON, in parts to be sent one after another."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts


def dumps(value: Any) -> bytes:
    """orjson.dumps, taking EncodedJSON values whole."""
    return orjson.dumps(value, default=_fragment)


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, EncodedJSON):
        return orjson.Fragment(b"".join(value.parts))
    raise TypeError(f"not JSON: {type(value).__name__}")


def encoded_parts(response: Mapping[str, Any]) -> list[bytes] | None:
    """The parts of a response (`{"data": ..., "errors": ...}`) whose root fields hold
    EncodedJSON, else None: a response like any other."""
    data = response.get("data")
    if not isinstance(data, dict) or not any(isinstance(v, EncodedJSON) for v in data.values()):
        return None
    parts = [b'{"data":{']
    for n, (key, value) in enumerate(data.items()):
        parts.append((b"," if n else b"") + orjson.dumps(key) + b":")
        if isinstance(value, EncodedJSON):
            parts.extend(value.parts)
        else:
            parts.append(orjson.dumps(value))
    parts.append(b"}")
    for key, value in response.items():
        if key != "data":
            parts.append(b"," + orjson.dumps(key) + b":" + dumps(value))
    parts.append(b"}")
    return parts


def chunks(parts: list[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The parts joined into chunks of about `size` bytes, each made only when it is sent."""
    pending: list[bytes] = []
    pending_size = 0
    for part in parts:
        pending.append(part)
        pending_size += len(part)
        if pending_size >= size:
            yield b"".join(pending)
            pending.clear()
            pending_size = 0
    if pending_size:
        yield b"".join(pending)
