"""Documents as MongoDB Extended JSON v2 in its canonical mode, the form in which every BSON
value keeps its type: an int64 stays an int64 however small, a double stays a double, a date
stays a date whatever its year. A document written out this way and read back is the same BSON.

Reading takes plain JSON as it always was: only an object of one of Extended JSON's forms
(`{"$date": ...}`, `{"$numberLong": ...}`, `{"$oid": ...}`, ...) becomes a value of its type,
so files from `mongoexport` (either mode) read too.
"""

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from bson import json_util
from bson.errors import BSONError

_CANONICAL = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True, tzinfo=UTC)


class UnreadableValue(ValueError):
    """An object in one of Extended JSON's forms that holds no value of that form."""


def encode(document: Mapping[str, Any]) -> str:
    """One line of canonical Extended JSON."""
    return json_util.dumps(document, json_options=_CANONICAL, ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> Any:
    """The document of one line of Extended JSON, each value of its type."""
    return json_util.loads(text, json_options=_CANONICAL)


def decode_object(pairs: dict[str, Any]) -> Any:
    """The value a decoded JSON object stands for (a JSON decoder's object_hook)."""
    try:
        return json_util.object_hook(pairs, _CANONICAL)
    except (ValueError, TypeError, KeyError, ArithmeticError, BSONError) as error:
        form = next(key for key in pairs if key.startswith("$"))
        raise UnreadableValue(f"an Extended JSON {form} that holds no value of its type: {error}") from None
