"""The filter compiler and the keyset conditions, as exact MongoDB queries.

Each test states the query a filter must become, so a change in what the database is asked
shows up here first. What the queries *match* is proven against documents in
test_filter_properties.py.
"""

import re
from datetime import UTC, datetime

import pytest

from app.errors import BadUserInput
from app.store.filters import (
    compile_data_element_filter,
    compile_instance_filter,
    compile_read_query,
    mentions_hard_deleted,
)
from app.store.ordering import (
    DEFAULT_ORDER,
    SortKey,
    after_position,
    normalize_order,
    position_of,
    sort_specification,
)

T1 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2024, 6, 30, 23, 59, 59, 999000, tzinfo=UTC)
NOT_HARD_DELETED = {"status.isHardDeleted": {"$ne": True}}
MATCHES_NOTHING = {"_id": {"$in": []}}


def _present(path: str) -> dict:
    """Not null. A dotted path also needs `$exists`: mongomock reads `status.x` under
    `status: null` as a present null, where MongoDB reads it as missing."""
    return {path: {"$ne": None}} if "." not in path else {path: {"$exists": True, "$ne": None}}


def _absent(path: str) -> dict:
    """Null or missing; for a dotted path also missing under a null or non-object parent."""
    return {path: None} if "." not in path else {"$or": [{path: None}, {path: {"$exists": False}}]}


def _at(path: str, condition: dict) -> dict:
    """A filter with `condition` placed at the dotted GraphQL path, e.g. process.currentTask."""
    for name in reversed(path.split(".")):
        condition = {name: condition}
    return condition


# (GraphQL path in InstanceFilter, document path it compiles to)
STRING_FIELDS = [
    ("appId", "appId"),
    ("org", "org"),
    ("instanceOwner.partyId", "instanceOwner.partyId"),
    ("instanceOwner.personNumber", "instanceOwner.personNumber"),
    ("instanceOwner.organisationNumber", "instanceOwner.organisationNumber"),
    ("createdBy", "createdBy"),
    ("lastChangedBy", "lastChangedBy"),
    ("process.currentTask", "process.currentTask.elementId"),
    ("process.altinnTaskType", "process.currentTask.altinnTaskType"),
    ("process.endEvent", "process.endEvent"),
    ("status.substatusLabel", "status.substatus.label"),
]
DATE_FIELDS = [
    ("created", "created"),
    ("lastChanged", "lastChanged"),
    ("dueBefore", "dueBefore"),
    ("visibleAfter", "visibleAfter"),
    ("process.started", "process.started"),
    ("process.ended", "process.ended"),
]
STRING_OPERATORS = [
    ({"eq": "x"}, "x"),
    ({"ne": "x"}, {"$ne": "x"}),
    ({"in": ["x", "y"]}, {"$in": ["x", "y"]}),
    ({"in": []}, {"$in": []}),
    ({"nin": ["x", "y"]}, {"$nin": ["x", "y"]}),
    ({"startsWith": "Task_"}, {"$regex": "^Task_"}),
    ({"exists": True}, _present),
    ({"exists": False}, _absent),
]
DATE_OPERATORS = [
    ({"eq": T1}, T1),
    ({"gt": T1}, {"$gt": T1}),
    ({"gte": T1}, {"$gte": T1}),
    ({"lt": T1}, {"$lt": T1}),
    ({"lte": T1}, {"$lte": T1}),
    ({"exists": True}, _present),
    ({"exists": False}, _absent),
]


@pytest.mark.parametrize(("field", "path"), STRING_FIELDS)
@pytest.mark.parametrize(("operator", "condition"), STRING_OPERATORS)
def test_string_fields(field, path, operator, condition):
    expected = condition(path) if callable(condition) else {path: condition}
    assert compile_instance_filter(_at(field, operator)) == expected


@pytest.mark.parametrize(("field", "path"), DATE_FIELDS)
@pytest.mark.parametrize(("operator", "condition"), DATE_OPERATORS)
def test_date_fields(field, path, operator, condition):
    expected = condition(path) if callable(condition) else {path: condition}
    assert compile_instance_filter(_at(field, operator)) == expected


def test_several_operators_on_one_field_all_hold():
    assert compile_instance_filter({"created": {"gte": T1, "lt": T2}}) == {
        "$and": [{"created": {"$gte": T1}}, {"created": {"$lt": T2}}]
    }
    assert compile_instance_filter({"appId": {"ne": "ttd/a", "startsWith": "ttd/", "exists": True}}) == {
        "$and": [{"appId": {"$ne": "ttd/a"}}, {"appId": {"$regex": "^ttd/"}}, {"appId": {"$ne": None}}]
    }


def test_several_fields_all_hold_in_the_order_given():
    assert compile_instance_filter(
        {"org": {"eq": "ttd"}, "process": {"currentTask": {"eq": "Task_1"}}, "created": {"lte": T1}}
    ) == {"$and": [{"org": "ttd"}, {"process.currentTask.elementId": "Task_1"}, {"created": {"$lte": T1}}]}


@pytest.mark.parametrize(
    "instance_filter",
    [None, {}, {"appId": None}, {"appId": {}}, {"appId": {"eq": None, "in": None}}, {"status": {}}, {"and": []}],
)
def test_nothing_given_is_no_condition(instance_filter):
    assert compile_instance_filter(instance_filter) == {}


@pytest.mark.parametrize(
    ("value", "pattern", "matches", "does_not_match"),
    [
        ("a.b*", r"^a\.b\*", ["a.b*", "a.b*c"], ["axb", "a.bbb", "a.", "xa.b*"]),
        ("ttd/app(1)", r"^ttd/app\(1\)", ["ttd/app(1)x"], ["ttd/app1", "ttd/app"]),
        ("[x]+?$^|\\", r"^\[x\]\+\?\$\^\|\\", ["[x]+?$^|\\ tail"], ["x", "[x]"]),
        ("Task", "^Task", ["Task_1"], ["task_1", "My Task"]),
    ],
)
def test_starts_with_is_a_literal_case_sensitive_prefix(value, pattern, matches, does_not_match):
    compiled = compile_instance_filter({"appId": {"startsWith": value}})
    assert compiled == {"appId": {"$regex": pattern}}
    regex = re.compile(compiled["appId"]["$regex"])
    assert all(regex.search(s) for s in matches)
    assert not any(regex.search(s) for s in does_not_match)


@pytest.mark.parametrize("flag", ["isArchived", "isSoftDeleted", "isHardDeleted"])
def test_status_flags_read_missing_as_false(flag):
    assert compile_instance_filter({"status": {flag: True}}) == {f"status.{flag}": True}
    assert compile_instance_filter({"status": {flag: False}}) == {f"status.{flag}": {"$ne": True}}


@pytest.mark.parametrize("statuses", [["Read"], ["UpdatedSinceLastReview", "Read"], ["Read", "Unread"], ["Unread"], []])
def test_read_status_missing_reads_as_unread(statuses):
    listed = {"status.readStatus": {"$in": statuses}}
    expected = listed if "Unread" not in statuses else {"$or": [listed, *_absent("status.readStatus")["$or"]]}
    assert compile_instance_filter({"status": {"readStatus": statuses}}) == expected


def test_read_status_unread_matches_a_missing_status_too():
    assert compile_instance_filter({"status": {"readStatus": ["Unread"]}}) == {
        "$or": [
            {"status.readStatus": {"$in": ["Unread"]}},
            {"status.readStatus": None},
            {"status.readStatus": {"$exists": False}},
        ]
    }


def test_is_complete():
    assert compile_instance_filter({"process": {"isComplete": True}}) == {
        "process.ended": {"$exists": True, "$ne": None}
    }
    assert compile_instance_filter({"process": {"isComplete": False}}) == {
        "process.currentTask": {"$exists": True, "$ne": None}
    }


def test_exclude_confirmed_by():
    assert compile_instance_filter({"excludeConfirmedBy": "ttd"}) == {
        "completeConfirmations.stakeholderId": {"$ne": "ttd"}
    }


# --- search and the text maps (presentationTexts, dataValues) ---

IS_OBJECT = {
    "$and": [{"$gte": ["$presentationTexts", {"$literal": {}}]}, {"$lt": ["$presentationTexts", {"$literal": []}]}]
}
PRESENTATION_ENTRIES = {"$objectToArray": {"$cond": [IS_OBJECT, "$presentationTexts", {"$literal": {}}]}}


def test_search_is_a_case_insensitive_literal_pattern_over_the_texts_of_presentation_texts():
    is_text = {"$and": [{"$gte": ["$$entry.v", ""]}, {"$lt": ["$$entry.v", {"$literal": {}}]}]}
    holds = {"$regexMatch": {"input": "$$entry.v", "regex": {"$literal": r"50%_\ \(a\.b\*"}, "options": "i"}}
    found = {"$filter": {"input": PRESENTATION_ENTRIES, "as": "entry", "cond": {"$cond": [is_text, holds, False]}}}
    assert compile_instance_filter({"search": "50%_ (a.b*"}) == {"$expr": {"$gt": [{"$size": found}, 0]}}


def _keys_and_texts(value, inside_literal=False):
    """Every key of the compiled query, and every text outside a $literal."""
    keys, texts = set(), set()
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(key)
            more_keys, more_texts = _keys_and_texts(item, inside_literal or key == "$literal")
            keys |= more_keys
            texts |= more_texts
    elif isinstance(value, list):
        for item in value:
            more_keys, more_texts = _keys_and_texts(item, inside_literal)
            keys |= more_keys
            texts |= more_texts
    elif isinstance(value, str) and not inside_literal:
        texts.add(value)
    return keys, texts


def _literals(value):
    if isinstance(value, dict):
        return [value] if "$literal" in value else [x for item in value.values() for x in _literals(item)]
    if isinstance(value, list):
        return [x for item in value for x in _literals(item)]
    return []


# The key names and texts the compiler writes itself; the caller's are never among them.
EXPRESSION_KEYS = {
    "$expr", "$let", "vars", "in", "text", "found", "$cond", "$and", "$gte", "$lt", "$literal", "$objectToArray",
    "$filter", "input", "as", "cond", "$eq", "$ne", "$map", "$arrayElemAt", "$concatArrays", "$in",
    "$regexMatch", "regex", "options",
}  # fmt: skip
EXPRESSION_TEXTS = {"$dataValues", "entry", "$$entry.k", "$$entry.v", "$$found", "$$text", "", "i"}


@pytest.mark.parametrize("key", ["a.b", "$where", "dataValues.x", "$$ROOT", "", "$literal"])
@pytest.mark.parametrize(
    "value", [{"eq": "$$ROOT"}, {"ne": "$x"}, {"in": ["$a", "b"]}, {"nin": ["$a"]}, {"startsWith": "$("}]
)
def test_a_text_map_key_and_value_never_become_a_path_an_operator_or_a_variable(key, value):
    compiled = compile_instance_filter({"dataValues": [{"key": key, "value": value}]})
    keys, texts = _keys_and_texts(compiled)
    assert keys <= EXPRESSION_KEYS
    assert texts <= EXPRESSION_TEXTS
    assert {"$literal": key} in _literals(compiled)


def test_text_map_entries_all_hold_and_a_key_alone_asks_for_a_text():
    compiled = compile_instance_filter({"presentationTexts": [{"key": "a"}, {"key": "b", "value": {"eq": "x"}}]})
    assert [c["$expr"]["$let"]["in"] for c in compiled["$and"]] == [
        {"$ne": ["$$text", None]},
        {"$eq": ["$$text", {"$literal": "x"}]},
    ]
    assert compile_instance_filter({"presentationTexts": [{"key": "a", "value": {}}], "dataValues": []}) == {}


@pytest.mark.parametrize(
    ("instance_filter", "message"),
    [
        ({"search": ""}, "`search` is empty"),
        ({"search": "x" * 257}, "`search` takes text of at most 256"),
        ({"dataValues": [{"key": "x" * 257}]}, "`dataValues.key` takes text of at most 256"),
        ({"presentationTexts": [{"key": "a", "value": {"in": ["x" * 257]}}]}, "`presentationTexts.value.in`"),
        ({"presentationTexts": [{"key": "a", "value": {"gt": "x"}}]}, "unknown filter operator 'gt'"),
        ({"presentationTexts": [{"value": {"eq": "x"}}]}, "needs a text `key`"),
    ],
)
def test_bad_search_and_text_map_input_is_refused(instance_filter, message):
    with pytest.raises(BadUserInput, match=re.escape(message)):
        compile_instance_filter(instance_filter)


def test_a_nul_character_is_written_as_an_escape_which_every_store_accepts():
    assert compile_instance_filter({"appId": {"startsWith": "a\x00"}}) == {"appId": {"$regex": "^a\\x00"}}


# (DataElementFilter field, path in the element)
ELEMENT_STRING_FIELDS = [
    ("id", "id"),
    ("dataType", "dataType"),
    ("contentType", "contentType"),
    ("filename", "filename"),
]
ELEMENT_DATE_FIELDS = [("created", "created"), ("lastChanged", "lastChanged")]


def _element_match(condition: dict) -> dict:
    return {"data": {"$elemMatch": condition}}


@pytest.mark.parametrize(("field", "path"), ELEMENT_STRING_FIELDS)
@pytest.mark.parametrize(("operator", "condition"), STRING_OPERATORS)
def test_data_element_string_fields(field, path, operator, condition):
    expected = condition(path) if callable(condition) else {path: condition}
    assert compile_instance_filter({"data": {field: operator}}) == _element_match(expected)
    assert compile_data_element_filter({field: operator}) == expected


@pytest.mark.parametrize(("field", "path"), ELEMENT_DATE_FIELDS)
@pytest.mark.parametrize(("operator", "condition"), DATE_OPERATORS)
def test_data_element_date_fields(field, path, operator, condition):
    expected = condition(path) if callable(condition) else {path: condition}
    assert compile_instance_filter({"data": {field: operator}}) == _element_match(expected)


@pytest.mark.parametrize(
    ("operator", "condition"),
    [
        ({"eq": 100}, 100),
        ({"eq": 0}, 0),
        ({"ne": 100}, {"$ne": 100}),
        ({"gt": 100}, {"$gt": 100}),
        ({"gte": 0}, {"$gte": 0}),
        ({"lt": 100}, {"$lt": 100}),
        ({"lte": 100}, {"$lte": 100}),
    ],
)
def test_data_element_size(operator, condition):
    assert compile_instance_filter({"data": {"size": operator}}) == _element_match({"size": condition})


@pytest.mark.parametrize(
    ("element_filter", "condition"),
    [
        ({"locked": True}, {"locked": True}),
        ({"locked": False}, {"locked": {"$ne": True}}),
        ({"isRead": True}, {"isRead": {"$ne": False}}),
        ({"isRead": False}, {"isRead": False}),
        ({"fileScanResult": ["Infected"]}, {"fileScanResult": {"$in": ["Infected"]}}),
        ({"fileScanResult": ["Clean", "Pending"]}, {"fileScanResult": {"$in": ["Clean", "Pending"]}}),
        (
            {"fileScanResult": ["NotApplicable"]},
            {"fileScanResult": {"$in": ["NotApplicable", None]}},
        ),
        (
            {"fileScanResult": ["Infected", "NotApplicable"]},
            {"fileScanResult": {"$in": ["Infected", "NotApplicable", None]}},
        ),
        ({"isHardDeleted": False}, {"deleteStatus.isHardDeleted": {"$ne": True}}),
        ({"isHardDeleted": True}, {"deleteStatus.isHardDeleted": True}),
    ],
)
def test_data_element_flags_and_enums_read_missing_as_their_defaults(element_filter, condition):
    assert compile_instance_filter({"data": element_filter}) == _element_match(condition)


@pytest.mark.parametrize(
    ("operator", "condition"),
    [
        ({"eq": "a"}, {"tags": "a"}),
        ({"ne": "a"}, {"tags": {"$ne": "a"}}),
        ({"in": ["a", "b"]}, {"tags": {"$in": ["a", "b"]}}),
        ({"nin": ["a", "b"]}, {"tags": {"$nin": ["a", "b"]}}),
        ({"startsWith": "a.*"}, {"tags": {"$regex": r"^a\.\*"}}),
        ({"exists": True}, {"tags.0": {"$exists": True}}),
        ({"exists": False}, {"tags.0": {"$exists": False}}),
    ],
)
def test_data_element_tags_are_a_list(operator, condition):
    assert compile_instance_filter({"data": {"tags": operator}}) == _element_match(condition)


def test_tags_exists_combines_with_other_operators():
    assert compile_instance_filter({"data": {"tags": {"exists": True, "ne": "a"}}}) == _element_match(
        {"tags": {"$ne": "a"}, "tags.0": {"$exists": True}}
    )


def test_all_element_conditions_hold_within_one_element():
    assert compile_instance_filter(
        {"data": {"dataType": {"eq": "model"}, "locked": True, "size": {"gt": 10, "lte": 20}, "tags": {"eq": "t"}}}
    ) == _element_match({"dataType": "model", "locked": True, "size": {"$gt": 10, "$lte": 20}, "tags": "t"})


def test_element_conditions_on_one_field_merge_into_one_operator_document():
    assert compile_data_element_filter({"size": {"eq": 5, "exists": True}}) == {"size": {"$eq": 5, "$ne": None}}
    assert compile_data_element_filter({"filename": {"startsWith": "a", "nin": ["ab"]}}) == {
        "filename": {"$regex": "^a", "$nin": ["ab"]}
    }


def test_an_operator_a_field_repeats_goes_into_a_trailing_and():
    # `$and` inside `$elemMatch` must not come first: a server may read a leading `$` key as
    # a value operator (as in `{$elemMatch: {$gte: 1}}`) and refuse it.
    compiled = compile_data_element_filter({"dataType": {"eq": "a"}, "size": {"ne": 5, "exists": True}})
    assert compiled == {"dataType": "a", "size": {"$ne": 5}, "$and": [{"size": {"$ne": None}}]}
    assert list(compiled)[-1] == "$and"


def test_an_empty_element_filter_asks_for_some_element():
    assert compile_instance_filter({"data": {}}) == _element_match({})


def test_element_conditions_in_two_data_filters_are_two_elements():
    assert compile_instance_filter({"and": [{"data": {"locked": True}}, {"data": {"isRead": False}}]}) == {
        "$and": [_element_match({"locked": True}), _element_match({"isRead": False})]
    }


def test_and_or_not():
    a, b, c = {"org": {"eq": "ttd"}}, {"appId": {"eq": "ttd/a"}}, {"status": {"isArchived": True}}
    qa, qb, qc = {"org": "ttd"}, {"appId": "ttd/a"}, {"status.isArchived": True}
    assert compile_instance_filter({"and": [a, b]}) == {"$and": [qa, qb]}
    assert compile_instance_filter({"and": [a]}) == qa
    assert compile_instance_filter({"or": [a, b]}) == {"$or": [qa, qb]}
    assert compile_instance_filter({"or": [a]}) == {"$or": [qa]}
    assert compile_instance_filter({"not": a}) == {"$nor": [qa]}
    assert compile_instance_filter({"not": {**a, **b}}) == {"$nor": [{"$and": [qa, qb]}]}
    assert compile_instance_filter({**c, "or": [a, b], "not": {"not": a}}) == {
        "$and": [qc, {"$or": [qa, qb]}, {"$nor": [{"$nor": [qa]}]}]
    }
    assert compile_instance_filter({"or": [{"and": [a, {"not": b}]}, {"or": [c]}]}) == {
        "$or": [{"$and": [qa, {"$nor": [qb]}]}, {"$or": [qc]}]
    }


def test_empty_combinators():
    # An empty `and` has nothing to hold: everything matches. An empty `or` has no
    # alternative that holds: nothing matches.
    assert compile_instance_filter({"and": []}) == {}
    assert compile_instance_filter({"or": []}) == MATCHES_NOTHING
    assert compile_instance_filter({"org": {"eq": "ttd"}, "or": []}) == {"$and": [{"org": "ttd"}, MATCHES_NOTHING]}
    assert compile_instance_filter({"not": {"or": []}}) == {"$nor": [MATCHES_NOTHING]}
    # `not` of a filter that holds everywhere holds nowhere.
    assert compile_instance_filter({"not": {}}) == {"$nor": [{}]}
    assert compile_instance_filter({"or": [{}, {"org": {"eq": "x"}}]}) == {"$or": [{}, {"org": "x"}]}


@pytest.mark.parametrize(
    ("instance_filter", "unknown"),
    [
        ({"owner": {"eq": "x"}}, "owner"),
        ({"$where": "sleep(100)"}, "$where"),
        ({"id": {"endsWithout": "x"}}, "endsWithout"),
        ({"appId": {"regex": ".*"}}, "regex"),
        ({"appId": {"$regex": ".*"}}, "$regex"),
        ({"created": {"between": [1, 2]}}, "between"),
        ({"instanceOwner": {"username": {"eq": "x"}}}, "username"),
        ({"process": {"currentTask": {"like": "x"}}}, "like"),
        ({"process": {"flow": {"eq": 1}}}, "flow"),
        ({"status": {"isDeleted": True}}, "isDeleted"),
        ({"status": {"substatus": {"eq": "x"}}}, "substatus"),
        ({"data": {"blobStoragePath": {"eq": "x"}}}, "blobStoragePath"),
        ({"data": {"tags": {"all": ["x"]}}}, "all"),
        ({"and": [{"org": {"eq": "ttd"}}, {"nope": {"eq": 1}}]}, "nope"),
        ({"or": [{"org": {"eq": "ttd"}}, {"status": {"nope": True}}]}, "nope"),
        ({"not": {"not": {"appId": {"contains": "x"}}}}, "contains"),
    ],
)
def test_unknown_fields_and_operators_are_bad_user_input(instance_filter, unknown):
    with pytest.raises(BadUserInput) as raised:
        compile_instance_filter(instance_filter)
    assert repr(unknown) in raised.value.message


def test_unknown_data_element_field_is_bad_user_input():
    with pytest.raises(BadUserInput, match="owner"):
        compile_data_element_filter({"owner": {"eq": "x"}})


# --- the read query: hard-deleted instances left out unless the filter asks about them ---


def test_read_query_leaves_out_hard_deleted_by_default():
    assert compile_read_query(None, None) == NOT_HARD_DELETED
    assert compile_read_query({}, None) == NOT_HARD_DELETED
    assert compile_read_query({"org": {"eq": "ttd"}}, None) == {"$and": [{"org": "ttd"}, NOT_HARD_DELETED]}
    assert compile_read_query({"status": {"isHardDeleted": None}}, None) == NOT_HARD_DELETED
    # Other status conditions are not a question about hard deletion.
    assert compile_read_query({"status": {"isSoftDeleted": True}}, None) == {
        "$and": [{"status.isSoftDeleted": True}, NOT_HARD_DELETED]
    }


@pytest.mark.parametrize(
    "instance_filter",
    [
        {"status": {"isHardDeleted": True}},
        {"status": {"isHardDeleted": False}},
        {"and": [{"org": {"eq": "ttd"}}, {"status": {"isHardDeleted": True}}]},
        {"or": [{"status": {"isHardDeleted": True}}, {"org": {"eq": "ttd"}}]},
        {"not": {"status": {"isHardDeleted": False}}},
        {"or": [{"and": [{"not": {"status": {"isArchived": True, "isHardDeleted": True}}}]}]},
    ],
)
def test_read_query_keeps_hard_deleted_when_the_filter_mentions_them(instance_filter):
    assert mentions_hard_deleted(instance_filter)
    assert compile_read_query(instance_filter, None) == compile_instance_filter(instance_filter)
    assert "status.isHardDeleted" in repr(compile_read_query(instance_filter, None))


@pytest.mark.parametrize(
    "instance_filter",
    [
        {"status": {"isArchived": False}},
        {"and": [{"org": {"eq": "ttd"}}], "or": [{"status": {"isSoftDeleted": True}}], "not": {"status": {}}},
        {"data": {"isHardDeleted": True}},  # a data element's deletion is another question
    ],
)
def test_read_query_excludes_hard_deleted_when_only_other_things_are_asked(instance_filter):
    assert not mentions_hard_deleted(instance_filter)
    assert compile_read_query(instance_filter, None) == {
        "$and": [compile_instance_filter(instance_filter), NOT_HARD_DELETED]
    }


def test_read_query_adds_the_restriction_last():
    restriction = {"or": [{"org": {"eq": "ttd"}}]}
    assert compile_read_query({"appId": {"eq": "ttd/a"}}, restriction) == {
        "$and": [{"appId": "ttd/a"}, NOT_HARD_DELETED, {"$or": [{"org": "ttd"}]}]
    }
    assert compile_read_query({"status": {"isHardDeleted": True}}, restriction) == {
        "$and": [{"status.isHardDeleted": True}, {"$or": [{"org": "ttd"}]}]
    }
    # A restriction that mentions hard deletion does not lift the default for the filter.
    assert compile_read_query(None, {"status": {"isHardDeleted": False}}) == {
        "$and": [NOT_HARD_DELETED, NOT_HARD_DELETED]
    }
    # A restriction that matches nothing still applies.
    assert compile_read_query(None, {"or": []}) == {"$and": [NOT_HARD_DELETED, MATCHES_NOTHING]}


# --- ordering ---

LC_DESC = SortKey("lastChanged", descending=True)
LC_ASC = SortKey("lastChanged", descending=False)
DUE_ASC = SortKey("dueBefore", descending=False)
DUE_DESC = SortKey("dueBefore", descending=True)


def test_normalize_order():
    assert normalize_order(None) == DEFAULT_ORDER == (LC_DESC,)
    assert normalize_order([]) == (LC_DESC,)
    assert normalize_order([DUE_ASC, LC_ASC, DUE_DESC]) == (DUE_ASC, LC_ASC)
    with pytest.raises(ValueError, match="id"):
        normalize_order([SortKey("id")])


def test_sort_specification_breaks_ties_by_id_in_the_direction_of_the_last_key():
    assert sort_specification((LC_DESC,)) == [("lastChanged", -1), ("id", -1)]
    assert sort_specification((LC_ASC,)) == [("lastChanged", 1), ("id", 1)]
    assert sort_specification((DUE_ASC, SortKey("created"))) == [("dueBefore", 1), ("created", -1), ("id", -1)]
    assert sort_specification((DUE_DESC, LC_ASC)) == [("dueBefore", -1), ("lastChanged", 1), ("id", 1)]


def test_position_of_reads_missing_as_null():
    assert position_of((DUE_ASC, LC_DESC), {"id": "1/a", "lastChanged": T1}) == [None, T1]


def _earlier_than_a_date(field: str) -> dict:
    """Descending, after a date: earlier dates, the types MongoDB sorts before dates, then nulls."""
    types = ["number", "string", "object", "binData", "objectId", "bool"]
    return {"$or": [{field: {"$lt": T1}}, *({field: {"$type": alias}} for alias in types), {field: None}]}


def test_after_position_descending():
    assert after_position((LC_DESC,), [T1], "1/a") == {
        "$or": [
            _earlier_than_a_date("lastChanged"),  # nulls come last
            {"$and": [{"lastChanged": T1}, {"id": {"$lt": "1/a"}}]},
        ]
    }


def test_after_position_ascending():
    assert after_position((LC_ASC,), [T1], "1/a") == {
        "$or": [
            {"lastChanged": {"$gt": T1}},
            {"$and": [{"lastChanged": T1}, {"id": {"$gt": "1/a"}}]},
        ]
    }


def test_after_position_from_a_null_value():
    # Ascending: nulls come first, so every date follows a null.
    assert after_position((DUE_ASC,), [None], "1/a") == {
        "$or": [{"dueBefore": {"$ne": None}}, {"$and": [{"dueBefore": None}, {"id": {"$gt": "1/a"}}]}]
    }
    # Descending: nulls come last, so only the following ids among the nulls follow.
    assert after_position((DUE_DESC,), [None], "1/a") == {"$and": [{"dueBefore": None}, {"id": {"$lt": "1/a"}}]}


def test_after_position_with_two_keys():
    assert after_position((DUE_ASC, LC_DESC), [T2, T1], "1/a") == {
        "$or": [
            {"dueBefore": {"$gt": T2}},
            {"$and": [{"dueBefore": T2}, _earlier_than_a_date("lastChanged")]},
            {"$and": [{"dueBefore": T2}, {"lastChanged": T1}, {"id": {"$lt": "1/a"}}]},
        ]
    }
    assert after_position((DUE_DESC, LC_ASC), [None, None], "1/a") == {
        "$or": [
            {"$and": [{"dueBefore": None}, {"lastChanged": {"$ne": None}}]},
            {"$and": [{"dueBefore": None}, {"lastChanged": None}, {"id": {"$gt": "1/a"}}]},
        ]
    }


def test_after_position_needs_a_value_per_key():
    with pytest.raises(ValueError):
        after_position((LC_DESC, DUE_ASC), [T1], "1/a")
