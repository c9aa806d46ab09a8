"""The JSON of a GraphQL request (a POST body; `variables` and `extensions` of a GET), decoded
strictly: UTF-8 only, no NaN or lone surrogates (orjson), an object at the top, nested no deeper
than MAX_DEPTH, no key twice in one object. Anything else is InvalidJSON, with a message that
says what is wrong."""

import json
from collections import Counter
from typing import Any

import orjson

# Real requests stay far below this (a filter at its 10-level limit is about 25 deep). Deeper
# values would reach Python's recursion limit in recursive code downstream (value coercion,
# logging), and raise where a clear error is due.
MAX_DEPTH = 64


class InvalidJSON(ValueError):
    pass


def decode_object(data: str | bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        # Also numbers too large for a double, such as an integer of 4,300 digits or more.
        raise InvalidJSON(f"The request is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidJSON(
            f"The request must be a JSON object (so must `variables` and `extensions` in a GET), not {_kind(value)}"
        )
    if _nested_deeper_than(value, MAX_DEPTH):
        raise InvalidJSON(f"The request's JSON is nested too deeply: more than {MAX_DEPTH} levels")
    # orjson keeps the last of a repeated key, where another reader may keep the first: a second
    # parse, of JSON already found sound and shallow, sees every key.
    json.loads(data, object_pairs_hook=_without_repeated_keys)
    return value


def _without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        repeated = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise InvalidJSON(f"The request's JSON has the key {repeated!r} more than once in one object")
    return value


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _nested_deeper_than(value: dict[str, Any], limit: int) -> bool:
    # Iterative, so that measuring a deep value cannot itself exhaust the stack.
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
