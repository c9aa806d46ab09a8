"""Opaque, signed page cursors.

A cursor carries the sort values and id of one document of a page, plus a fingerprint of the
query it came from; it serves as `after` and as `before` alike, since both directions of a
query share its fingerprint. The signature makes tampering detectable; the fingerprint makes a
cursor from another filter or order a clear error instead of a silently odd page.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from app.errors import BadUserInput
from app.store import extended_json

_SIGNATURE_BYTES = 16
# json.dumps builds an encoder for each call given separators; a page signs one cursor per document.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


class InvalidCursor(BadUserInput):
    """A cursor this gateway did not issue, or issued for another query; the REST edge names
    its own parameter (continuationToken) for it."""


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, fingerprint: str, values: Sequence[Any], last_id: str) -> str:
        payload = _COMPACT_JSON.encode([fingerprint, [_encode_value(v) for v in values], last_id]).encode()
        token = payload + self._sign(payload)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, cursor: str, fingerprint: str, key_count: int, argument: str = "after") -> tuple[list[Any], str]:
        """The sort values and id of the cursor; `argument` names it in the errors."""
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError):
            raise InvalidCursor(f"the `{argument}` cursor is not a cursor this gateway issued") from None
        payload, signature = token[:-_SIGNATURE_BYTES], token[-_SIGNATURE_BYTES:]
        # The decoder skips stray characters and padding bits: only the exact text issued counts.
        issued = base64.urlsafe_b64encode(token).decode().rstrip("=") == cursor
        if not issued or not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidCursor(f"the `{argument}` cursor is not a cursor this gateway issued")
        cursor_fingerprint, values, last_id = json.loads(payload)
        if cursor_fingerprint != fingerprint or len(values) != key_count:
            raise InvalidCursor(
                f"the `{argument}` cursor belongs to another query: "
                "page with the same filter and orderBy that produced it"
            )
        return [_decode_value(v) for v in values], last_id

    def _sign(self, payload: bytes) -> bytes:
        return hmac.digest(self._secret, payload, "sha256")[:_SIGNATURE_BYTES]


def query_fingerprint(instance_filter: Mapping[str, Any] | None, order: Sequence[Any]) -> str:
    canonical = json.dumps([instance_filter or {}, [repr(k) for k in order]], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"ms": round(value.timestamp() * 1000)}
    if value is None or isinstance(value, str | int | float):
        return value
    # Another type where a date belongs (an object, an ObjectId, ...): as Extended JSON, which
    # keeps its type.
    return {"bson": extended_json.encode({"value": value})}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "bson" in value:
        return extended_json.decode(value["bson"])["value"]
    if isinstance(value, dict):
        # Integer arithmetic: float seconds lose the milliseconds of far-future dates.
        return _EPOCH + timedelta(milliseconds=value["ms"])
    return value
