"""The filter compiler: the one place where a filter becomes a MongoDB query.

A filter is plain data in the shape of the contract's `InstanceFilter` (the GraphQL input
converted to dicts, or an authorization predicate written the same way). Every key is looked
up in the allow-lists below, so no caller-supplied string ever becomes a field path or an
operator. Semantics follow what a GraphQL user sees: a null field and a missing one are the
same, and flags and enums that are absent read as their documented defaults.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.errors import BadUserInput

Query = dict[str, Any]
Clauses = list[Query]

_COMPARISONS = {"eq": None, "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}

# The longest text a filter takes. `startsWith` becomes an escaped regex, at most twice as long
# plus its anchor: 513 characters stays within every store's cap on a pattern (MongoDB's is
# 16 KB or more, SecantusDB's 1,000 characters), and no Altinn identifier, label or file name
# a caller looks for is longer.
MAX_TEXT_LENGTH = 256


def _bounded(name: str, value: Any) -> None:
    texts = value if isinstance(value, list) else [value]
    longest = max((len(t) for t in texts if isinstance(t, str)), default=0)
    if longest > MAX_TEXT_LENGTH:
        raise BadUserInput(f"`{name}` takes text of at most {MAX_TEXT_LENGTH} characters, got {longest}")


def _literally(text: str) -> str:
    """A regular expression that matches `text` as written. MongoDB refuses a pattern holding
    a NUL character, so that one is written as an escape too."""
    return re.escape(text).replace("\x00", "\\x00")


def _null_alternatives(path: str) -> Clauses:
    # MongoDB reads a dotted path under a null or non-object parent (`status: null`) as
    # missing, hence null; mongomock does not, so such a path also matches `$exists: false`.
    if "." not in path:
        return [{path: None}]
    return [{path: None}, {path: {"$exists": False}}]


def _null(path: str) -> Query:
    """Null or missing, on MongoDB and on the embedded store alike."""
    alternatives = _null_alternatives(path)
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


def _not_null(path: str) -> Query:
    """Present and not null; `$exists` keeps mongomock from matching under a null parent."""
    return {path: {"$ne": None}} if "." not in path else {path: {"$exists": True, "$ne": None}}


def _value_conditions(path: str, ops: Mapping[str, Any]) -> Clauses:
    clauses: Clauses = []
    for op, value in ops.items():
        if value is None:
            continue
        _bounded(f"{path}.{op}", value)
        if op == "eq":
            clauses.append({path: value})
        elif op in _COMPARISONS:
            clauses.append({path: {_COMPARISONS[op]: value}})
        elif op == "in":
            clauses.append({path: {"$in": list(value)}})
        elif op == "nin":
            clauses.append({path: {"$nin": list(value)}})
        elif op == "startsWith":
            clauses.append({path: {"$regex": "^" + _literally(value)}})
        elif op == "endsWith":
            clauses.append({path: {"$regex": _literally(value) + "$"}})
        elif op == "exists":
            clauses.append(_not_null(path) if value else _null(path))
        else:
            raise BadUserInput(f"unknown filter operator {op!r}")
    return clauses


def _string(path: str) -> Callable[[Any], Clauses]:
    return lambda ops: _value_conditions(path, ops)


# Dates and integers accept the same operator names; the GraphQL input types decide which
# operators each offers.
_date = _int = _string


def _non_empty_list(path: str) -> Callable[[Any], Clauses]:
    """A string filter on a list field: `eq` means the list holds the value, and `exists`
    means the list has at least one entry (an empty list reads like a missing one)."""

    def compile_ops(ops: Mapping[str, Any]) -> Clauses:
        exists = ops.get("exists")
        clauses = _value_conditions(path, {k: v for k, v in ops.items() if k != "exists"})
        if exists is not None:
            clauses.append({f"{path}.0": {"$exists": bool(exists)}})
        return clauses

    return compile_ops


def _flag(path: str, *, default: bool) -> Callable[[Any], Clauses]:
    def compile_flag(wanted: bool) -> Clauses:
        if wanted == default:
            return [{path: {"$ne": not default}}]
        return [{path: wanted}]

    return compile_flag


def _one_of(path: str, *, default: str) -> Callable[[Any], Clauses]:
    """Enum membership; the default also matches documents where the field is absent."""

    def compile_values(values: Sequence[str]) -> Clauses:
        accepted = list(values)
        if default not in accepted:
            return [{path: {"$in": accepted}}]
        if "." not in path:
            # `$in` with null also matches a missing field; one condition on one field can
            # be merged with the others of a data element (see `_merged`).
            return [{path: {"$in": [*accepted, None]}}]
        return [{"$or": [{path: {"$in": accepted}}, *_null_alternatives(path)]}]

    return compile_values


def _is_complete(complete: bool) -> Clauses:
    return [_not_null("process.ended" if complete else "process.currentTask")]


def _exclude_confirmed_by(stakeholder: str) -> Clauses:
    _bounded("excludeConfirmedBy", stakeholder)
    # On an array, $ne holds only when no element equals the value.
    return [{"completeConfirmations.stakeholderId": {"$ne": stakeholder}}]


_DATA_ELEMENT_FIELDS: dict[str, Callable[[Any], Clauses]] = {
    "id": _string("id"),
    "dataType": _string("dataType"),
    "contentType": _string("contentType"),
    "filename": _string("filename"),
    "size": _int("size"),
    "locked": _flag("locked", default=False),
    "isRead": _flag("isRead", default=True),
    "tags": _non_empty_list("tags"),
    "fileScanResult": _one_of("fileScanResult", default="NotApplicable"),
    "created": _date("created"),
    "lastChanged": _date("lastChanged"),
    # Not offered to callers: authorization uses it to hide hard-deleted elements.
    "isHardDeleted": _flag("deleteStatus.isHardDeleted", default=False),
}


def _nested(fields: Mapping[str, Callable[[Any], Clauses]]) -> Callable[[Any], Clauses]:
    return lambda value: _compile_fields(value, fields)


def _data_elements(element_filter: Mapping[str, Any]) -> Clauses:
    return [{"data": {"$elemMatch": compile_data_element_filter(element_filter)}}]


_CONFIRMATION_FIELDS: dict[str, Callable[[Any], Clauses]] = {
    "stakeholderId": _string("stakeholderId"),
    "confirmedOn": _date("confirmedOn"),
}


def _complete_confirmation(confirmation_filter: Mapping[str, Any]) -> Clauses:
    """One and the same confirmation meets all of it."""
    return [
        {"completeConfirmations": {"$elemMatch": _merged(_compile_fields(confirmation_filter, _CONFIRMATION_FIELDS))}}
    ]


# --- Text maps: presentationTexts and dataValues, objects of {key: text} ---
#
# Their keys are the caller's text, and may hold `.` or `$`: a key names an entry, never a
# field path. So these conditions are aggregation expressions (`$expr`) over the object's
# entries, which no index serves: the database tests them on the instances the other
# conditions leave. They use only operators that MongoDB, SecantusDB and mongomock (the
# embedded store and app/store/matching.py) evaluate alike: no `$type`, `$anyElementTrue`
# or `$reduce`, which mongomock lacks, and no `$and` guarding an operand that could fail,
# since mongomock evaluates every operand. Each of the caller's texts is a `$literal`, so
# none is read as a field path or a variable.

Expression = Any


def _literal(value: Any) -> Query:
    return {"$literal": value}


def _between(value: Expression, low: Expression, high: Expression) -> Query:
    return {"$and": [{"$gte": [value, low]}, {"$lt": [value, high]}]}


# BSON orders values by type: numbers, texts, objects, arrays, ... So a value between "" and
# {} is a text, and one between {} and [] an object.
def _is_text(value: Expression) -> Query:
    return _between(value, "", _literal({}))


def _entries(path: str) -> Query:
    """The object at `path` as a list of {k, v}; empty when it is missing, null or no object."""
    value = f"${path}"
    return {"$objectToArray": {"$cond": [_between(value, _literal({}), _literal([])), value, _literal({})]}}


def _text_under(path: str, key: str) -> Query:
    """The text under `key` in the object at `path`; null when there is none, or when the
    value is not a text (a number, an object), as the API shows no text for it either."""
    under_key = {"$filter": {"input": _entries(path), "as": "entry", "cond": {"$eq": ["$$entry.k", _literal(key)]}}}
    values = {"$map": {"input": under_key, "as": "entry", "in": "$$entry.v"}}
    found = {"$arrayElemAt": [{"$concatArrays": [values, [None]]}, 0]}
    return {"$let": {"vars": {"found": found}, "in": {"$cond": [_is_text("$$found"), "$$found", None]}}}


def _regex_match(text: Expression, pattern: str, *, ignoring_case: bool = False) -> Query:
    return {"$regexMatch": {"input": text, "regex": _literal(pattern), **({"options": "i"} if ignoring_case else {})}}


def _text_condition(text: Expression, op: str, value: Any) -> Query:
    """A StringFilter operator on a text or null, as an expression."""
    if op == "eq":
        return {"$eq": [text, _literal(value)]}
    if op == "ne":
        return {"$ne": [text, _literal(value)]}
    if op in ("in", "nin"):
        return {"$eq": [{"$in": [text, _literal(list(value))]}, op == "in"]}
    if op == "startsWith":
        # `$regexMatch` fails on null, so `$cond` (which evaluates one branch) guards it.
        return {"$cond": [{"$eq": [text, None]}, False, _regex_match(text, "^" + _literally(value))]}
    if op == "exists":
        return {"$ne" if value else "$eq": [text, None]}
    raise BadUserInput(f"unknown filter operator {op!r}")


def _text_map(path: str) -> Callable[[Any], Clauses]:
    """KeyValueFilters on the object at `path`: each entry's text meets its StringFilter (the
    text is null when the key is absent); without one, the key has a text."""

    def compile_entries(entry_filters: Sequence[Mapping[str, Any]]) -> Clauses:
        clauses: Clauses = []
        for entry_filter in entry_filters:
            key = entry_filter.get("key")
            if not isinstance(key, str):
                raise BadUserInput(f"each entry of `{path}` needs a text `key`")
            _bounded(f"{path}.key", key)
            value_filter = entry_filter.get("value")
            ops = {"exists": True} if value_filter is None else {k: v for k, v in value_filter.items() if v is not None}
            for op, value in ops.items():
                _bounded(f"{path}.value.{op}", value)
            conditions = [_text_condition("$$text", op, value) for op, value in ops.items()]
            if conditions:
                text = _text_under(path, key)
                clauses.append({"$expr": {"$let": {"vars": {"text": text}, "in": _combine(conditions)}}})
        return clauses

    return compile_entries


def _search(text: str) -> Clauses:
    """Altinn's searchString: some presentation text holds `text`, ignoring case. Taken
    literally, where Altinn's `ilike` reads `%` and `_` as wildcards."""
    _bounded("search", text)
    if not text:
        raise BadUserInput("`search` is empty: give it a text, or leave it out to match every instance")
    holds_text = _regex_match("$$entry.v", _literally(text), ignoring_case=True)
    # Only a text is matched against the pattern: `$regexMatch` fails on anything else.
    cond = {"$cond": [_is_text("$$entry.v"), holds_text, False]}
    found = {"$filter": {"input": _entries("presentationTexts"), "as": "entry", "cond": cond}}
    return [{"$expr": {"$gt": [{"$size": found}, 0]}}]


_INSTANCE_FIELDS: dict[str, Callable[[Any], Clauses]] = {
    "id": _string("id"),  # REST finds an instance by its guid alone (endsWith)
    "appId": _string("appId"),
    "org": _string("org"),
    "instanceOwner": _nested(
        {
            "partyId": _string("instanceOwner.partyId"),
            "personNumber": _string("instanceOwner.personNumber"),
            "organisationNumber": _string("instanceOwner.organisationNumber"),
        }
    ),
    "created": _date("created"),
    "lastChanged": _date("lastChanged"),
    "dueBefore": _date("dueBefore"),
    "visibleAfter": _date("visibleAfter"),
    "search": _search,
    "presentationTexts": _text_map("presentationTexts"),
    "dataValues": _text_map("dataValues"),
    "createdBy": _string("createdBy"),
    "lastChangedBy": _string("lastChangedBy"),
    "process": _nested(
        {
            "currentTask": _string("process.currentTask.elementId"),
            "altinnTaskType": _string("process.currentTask.altinnTaskType"),
            "isComplete": _is_complete,
            "started": _date("process.started"),
            "ended": _date("process.ended"),
            "endEvent": _string("process.endEvent"),
        }
    ),
    "status": _nested(
        {
            "isArchived": _flag("status.isArchived", default=False),
            "isSoftDeleted": _flag("status.isSoftDeleted", default=False),
            "isHardDeleted": _flag("status.isHardDeleted", default=False),
            "readStatus": _one_of("status.readStatus", default="Unread"),
            "substatusLabel": _string("status.substatus.label"),
            # Not offered to callers: the purge's retention rule uses it.
            "hardDeleted": _date("status.hardDeleted"),
        }
    ),
    "data": _data_elements,
    "excludeConfirmedBy": _exclude_confirmed_by,
    # Not offered to callers: the purge's retention rule uses it.
    "completeConfirmation": _complete_confirmation,
}


def _compile_fields(value: Mapping[str, Any], fields: Mapping[str, Callable[[Any], Clauses]]) -> Clauses:
    clauses: Clauses = []
    for name, condition in value.items():
        if condition is None:
            continue
        compile_field = fields.get(name)
        if compile_field is None:
            raise BadUserInput(f"unknown filter field {name!r}")
        clauses.extend(compile_field(condition))
    return clauses


def _combine(clauses: Clauses) -> Query:
    if not clauses:
        return {}
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}


# MongoDB refuses queries nested past 100 levels, and each and/or/not adds two.
MAX_NESTING = 10


def _instance_clauses(instance_filter: Mapping[str, Any], depth: int = 0) -> Clauses:
    if depth > MAX_NESTING:
        raise BadUserInput(f"the filter nests and/or/not more than {MAX_NESTING} levels deep")
    combinators = {"and", "or", "not"}
    clauses = _compile_fields({k: v for k, v in instance_filter.items() if k not in combinators}, _INSTANCE_FIELDS)
    if instance_filter.get("and"):
        clauses.extend(_combine(_instance_clauses(f, depth + 1)) for f in instance_filter["and"])
    if instance_filter.get("or") is not None:
        # An empty `or` has no alternative that holds: it matches nothing.
        alternatives = [_combine(_instance_clauses(f, depth + 1)) for f in instance_filter["or"]]
        clauses.append({"$or": alternatives} if alternatives else {"_id": {"$in": []}})
    if instance_filter.get("not") is not None:
        clauses.append({"$nor": [_combine(_instance_clauses(instance_filter["not"], depth + 1))]})
    return clauses


def compile_instance_filter(instance_filter: Mapping[str, Any] | None) -> Query:
    """Compile an `InstanceFilter` to a MongoDB query exactly as written."""
    return _combine(_instance_clauses(instance_filter or {}))


def check_instance_filter(instance_filter: Mapping[str, Any] | None) -> None:
    """Raise BAD_USER_INPUT now for a filter that cannot be compiled (nested too deeply, say),
    so that the error belongs to the field that was given the filter."""
    compile_instance_filter(instance_filter)


def _operators(condition: Any) -> Query:
    """A field's condition as an operator document: a plain value means `$eq`."""
    if isinstance(condition, dict) and condition and all(key.startswith("$") for key in condition):
        return condition
    return {"$eq": condition}


def _merged(clauses: Clauses) -> Query:
    """The clauses as one document: conditions on distinct fields side by side, those on one
    field as one operator document, and `$and` only for an operator a field repeats.

    This is the form `$elemMatch` needs on every store: mongod accepts `$and` there, but a
    wire-protocol server that reads a leading `$` key as a value operator refuses it, so a
    field always comes first and `$and` last."""
    merged: Query = {}
    repeated: Clauses = []
    for clause in clauses:
        for path, condition in clause.items():
            if path not in merged:
                merged[path] = condition
            elif path.startswith("$") or _operators(merged[path]).keys() & _operators(condition).keys():
                repeated.append({path: condition})
            else:
                merged[path] = _operators(merged[path]) | _operators(condition)
    if repeated:
        merged["$and"] = repeated
    return merged


def compile_data_element_filter(element_filter: Mapping[str, Any] | None) -> Query:
    """Compile a `DataElementFilter` to a query on one data element, in the one-document
    form that every store accepts inside `$elemMatch`."""
    return _merged(_compile_fields(element_filter or {}, _DATA_ELEMENT_FIELDS))


def mentions_hard_deleted(instance_filter: Mapping[str, Any] | None) -> bool:
    """Whether the filter asks about `status.isHardDeleted` anywhere, however nested."""
    if not instance_filter:
        return False
    status = instance_filter.get("status") or {}
    if status.get("isHardDeleted") is not None:
        return True
    nested = [*(instance_filter.get("and") or []), *(instance_filter.get("or") or [])]
    if instance_filter.get("not") is not None:
        nested.append(instance_filter["not"])
    return any(mentions_hard_deleted(f) for f in nested)


NOT_HARD_DELETED: Mapping[str, Any] = {"status": {"isHardDeleted": False}}


def compile_read_query(instance_filter: Mapping[str, Any] | None, restriction: Mapping[str, Any] | None) -> Query:
    """The query for a read: the caller's filter, hard-deleted instances left out unless the
    filter asks about them, and the authorization restriction, all in one query."""
    parts = [instance_filter or {}]
    if not mentions_hard_deleted(instance_filter):
        parts.append(NOT_HARD_DELETED)
    if restriction is not None:
        parts.append(restriction)
    return all_of(*(compile_instance_filter(p) for p in parts))


def all_of(*queries: Query) -> Query:
    """One query that holds where every given (compiled) query holds."""
    return _combine([q for q in queries if q])
