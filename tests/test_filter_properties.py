"""Properties of filters and keyset pages, checked against a plain-Python model.

Random instance documents (fields present, null or missing; equal timestamps; partial
status; data elements with and without their defaults) go into a fresh database, on the
embedded store and on the wire-protocol server, and random filters drawn over the same small
value pools are run through the store. The set of ids the store returns must be the one the
model below computes from the contract's rules. The model never uses the compiler or the
database's matcher.
"""

import asyncio
import contextlib
import copy
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from app.store.cursors import CursorCodec
from app.store.database import connect
from app.store.documents import normalize_instance
from app.store.filters import compile_read_query
from app.store.instances import InstanceStore
from app.store.matching import matcher
from app.store.ordering import SORT_FIELDS, SortKey
from app.store.writes import write_all
from tests.conftest import Store

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    # `store` only says where the store is: each example opens its own database.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

# --- value pools, shared by documents and filters so that filters often match ---

PARTIES = ["1337", "500"]
APP_IDS = ["ttd/skjema-a", "ttd/skjema-b", "acme/a.b*"]
ORGS = ["ttd", "acme", "tt"]
# "a.b*" and "aXb*": a prefix "a.b" taken as a regex would match both.
USERS = ["1337", "991825827", "a.b*", "aXb*"]
PERSON_NUMBERS = ["01017012345", "a.b*", "aXb*"]
TASKS = ["Task_1", "Task_2"]
TASK_TYPES = ["data", "confirmation"]
END_EVENTS = ["EndEvent_1", "EndEvent_2"]
LABELS = ["Venter", "Venter på svar", "a.b*", "aXb*"]
STAKEHOLDERS = ["ttd", "acme"]
READ_STATUSES = ["Unread", "Read", "UpdatedSinceLastReview"]
SCAN_RESULTS = ["NotApplicable", "Pending", "Clean", "Infected"]
ELEMENT_IDS = ["e1", "e2"]
DATA_TYPES = ["default", "ref-data-as-pdf"]
CONTENT_TYPES = ["application/xml", "application/pdf"]
FILENAMES = ["a.pdf", "a.b*", "aXb*"]
SIZES = [0, 100, 5000]
TAGS = ["x", "y", "a.b*", "aXb*"]
# Presentation texts and data values: keys that are no field path, texts that differ in case
# only (Ø and ø), regex and SQL wildcards, and values that are no text.
TEXT_KEYS = ["Navn", "navn", "a.b", "$gt", ""]
TEXTS = ["Søknad ØST", "søknad øst", "a.b*", "aXb*", "50%_", "x\x00y", ""]
SEARCHES = ["øst", "ØST", "SØKNAD Ø", "a.b", "b*", ".", "%", "_", "0%_", "\x00", "x"]

# Document timestamps as Altinn writes them: the same instant in several spellings, and
# 7 fractional digits that storage truncates to the millisecond.
STORED_TIMES = {
    "2024-01-01T10:00:00Z": datetime(2024, 1, 1, 10, tzinfo=UTC),
    "2024-01-01T10:00:00.0000000+00:00": datetime(2024, 1, 1, 10, tzinfo=UTC),
    "2024-01-01T11:00:00+01:00": datetime(2024, 1, 1, 10, tzinfo=UTC),
    "2024-03-01T12:30:45.1239999Z": datetime(2024, 3, 1, 12, 30, 45, 123000, tzinfo=UTC),
    "2025-01-01T00:00:00Z": datetime(2025, 1, 1, tzinfo=UTC),
    # Far-future values ("never") are where float seconds lose the milliseconds.
    "3000-06-15T08:00:00.123Z": datetime(3000, 6, 15, 8, 0, 0, 123000, tzinfo=UTC),
    "9999-12-31T23:59:59.999Z": datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
}
DOCUMENT_TIMES = list(STORED_TIMES)
# Filter values: the stored instants, one between them, and one with microseconds.
FILTER_TIMES = [
    *sorted(set(STORED_TIMES.values())),
    datetime(2024, 2, 1, tzinfo=UTC),
    datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC),
]

MISSING = object()


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field that is missing, null or (more often) set."""
    return st.one_of(st.just(MISSING), st.none(), values, values)


def pool(values: Sequence[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def document(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with the fields whose drawn value is not MISSING."""
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})


# --- documents ---

times = pool(DOCUMENT_TIMES)

data_elements = document(
    id=maybe(pool(ELEMENT_IDS)),
    dataType=maybe(pool(DATA_TYPES)),
    contentType=maybe(pool(CONTENT_TYPES)),
    filename=maybe(pool(FILENAMES)),
    size=maybe(pool(SIZES)),
    locked=maybe(st.booleans()),
    isRead=maybe(st.booleans()),
    tags=maybe(st.lists(pool(TAGS), max_size=2, unique=True)),
    # Loading canonicalizes case and .NET enum numbers.
    fileScanResult=maybe(pool([*SCAN_RESULTS, "clean", 3])),
    created=maybe(times),
    lastChanged=maybe(times),
)

statuses = document(
    isArchived=maybe(st.booleans()),
    isSoftDeleted=maybe(st.booleans()),
    isHardDeleted=maybe(st.booleans()),
    readStatus=maybe(pool([*READ_STATUSES, "read", 2])),
    substatus=maybe(document(label=maybe(pool(LABELS)), description=maybe(st.just("text")))),
)

processes = document(
    started=maybe(times),
    startEvent=st.just("StartEvent_1"),
    currentTask=maybe(document(elementId=maybe(pool(TASKS)), altinnTaskType=maybe(pool(TASK_TYPES)), flow=st.just(2))),
    ended=maybe(times),
    endEvent=maybe(pool(END_EVENTS)),
)

text_maps = st.dictionaries(
    pool(TEXT_KEYS), st.one_of(pool(TEXTS), pool(TEXTS), st.none(), st.just(42), st.just({"Navn": "x"})), max_size=3
)

instance_bodies = document(
    instanceOwner=document(
        partyId=pool(PARTIES),
        personNumber=maybe(pool(PERSON_NUMBERS)),
        organisationNumber=maybe(pool(["991825827"])),
    ),
    appId=pool(APP_IDS),
    created=maybe(times),
    lastChanged=maybe(times),
    dueBefore=maybe(times),
    visibleAfter=maybe(times),
    createdBy=maybe(pool(USERS)),
    lastChangedBy=maybe(pool(USERS)),
    process=maybe(processes),
    status=maybe(statuses),
    completeConfirmations=maybe(
        st.lists(document(stakeholderId=maybe(pool(STAKEHOLDERS)), confirmedOn=maybe(times)), max_size=2)
    ),
    data=maybe(st.lists(data_elements, max_size=3)),
    presentationTexts=maybe(st.one_of(text_maps, text_maps, st.just("not an object"), st.just(["Søknad ØST"]))),
    dataValues=maybe(text_maps),
)


@st.composite
def instance_sets(
    draw: st.DrawFn, min_size: int = 4, max_size: int = 10, sortable: bool = False
) -> list[dict[str, Any]]:
    """Normalized documents with distinct ids, in an order unrelated to their ids."""
    raw = draw(st.lists(sortable_bodies if sortable else instance_bodies, min_size=min_size, max_size=max_size))
    numbers = draw(st.permutations(range(len(raw))))
    documents = []
    for body, number in zip(raw, numbers, strict=True):
        body = copy.deepcopy(body)
        body["id"] = f"{body['instanceOwner']['partyId']}/{uuid.UUID(int=number + 1)}"
        documents.append(normalize_instance(body))
    return documents


# --- filters over the same pools ---


def options(**conditions: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """One or two of the named conditions (a single one mostly), so filters stay selective
    enough to match some documents and not others."""
    names = st.lists(pool(list(conditions)), min_size=1, max_size=2, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({name: conditions[name] for name in chosen}))


def string_filter(values: Sequence[str]) -> st.SearchStrategy[dict[str, Any]]:
    prefixes = sorted({v[:n] for v in values for n in range(len(v) + 1)} | {"a.", ".*", "A"})
    return options(
        eq=pool(values),
        ne=pool(values),
        **{"in": st.lists(pool(values), max_size=2)},
        nin=st.lists(pool(values), max_size=2),
        startsWith=pool(prefixes),
        exists=st.booleans(),
    )


date_filter = options(
    eq=pool(FILTER_TIMES),
    gt=pool(FILTER_TIMES),
    gte=pool(FILTER_TIMES),
    lt=pool(FILTER_TIMES),
    lte=pool(FILTER_TIMES),
    exists=st.booleans(),
)
int_values = pool([*SIZES, 99])
int_filter = options(eq=int_values, ne=int_values, gt=int_values, gte=int_values, lt=int_values, lte=int_values)

element_filter = options(
    id=string_filter(ELEMENT_IDS),
    dataType=string_filter(DATA_TYPES),
    contentType=string_filter(CONTENT_TYPES),
    filename=string_filter(FILENAMES),
    size=int_filter,
    locked=st.booleans(),
    isRead=st.booleans(),
    tags=string_filter(TAGS),
    fileScanResult=st.lists(pool(SCAN_RESULTS), max_size=2),
    created=date_filter,
    lastChanged=date_filter,
)

key_value_filters = document(key=pool(TEXT_KEYS), value=st.one_of(st.just(MISSING), string_filter(TEXTS)))

INSTANCE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "appId": string_filter(APP_IDS),
    "org": string_filter(ORGS),
    "instanceOwner": options(
        partyId=string_filter(PARTIES),
        personNumber=string_filter(PERSON_NUMBERS),
        organisationNumber=string_filter(["991825827"]),
    ),
    "created": date_filter,
    "lastChanged": date_filter,
    "dueBefore": date_filter,
    "visibleAfter": date_filter,
    "createdBy": string_filter(USERS),
    "lastChangedBy": string_filter(USERS),
    "process": options(
        currentTask=string_filter(TASKS),
        altinnTaskType=string_filter(TASK_TYPES),
        isComplete=st.booleans(),
        started=date_filter,
        ended=date_filter,
        endEvent=string_filter(END_EVENTS),
    ),
    "status": options(
        isArchived=st.booleans(),
        isSoftDeleted=st.booleans(),
        isHardDeleted=st.booleans(),
        readStatus=st.lists(pool(READ_STATUSES), max_size=2),
        substatusLabel=string_filter(LABELS),
    ),
    "data": element_filter,
    "excludeConfirmedBy": pool(STAKEHOLDERS),
    "search": pool(SEARCHES),
    "presentationTexts": st.lists(key_value_filters, max_size=2),
    "dataValues": st.lists(key_value_filters, max_size=2),
}


@st.composite
def single_conditions(draw: st.DrawFn) -> dict[str, Any]:
    """A condition on one field. (Composite strategies keep hypothesis' reprs small.)"""
    name = draw(pool(list(INSTANCE_FIELDS)))
    return {name: draw(INSTANCE_FIELDS[name])}


def _merge(*filters: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for f in filters:
        merged.update(f)
    return merged


def _combinators(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    combined = options(**{"and": st.lists(children, max_size=3), "or": st.lists(children, max_size=3), "not": children})
    return st.one_of(combined, st.builds(_merge, single_conditions(), combined))


@st.composite
def instance_filters(draw: st.DrawFn) -> dict[str, Any]:
    """A filter of up to 6 conditions under and/or/not, nested at random."""
    leaves = st.one_of(single_conditions(), st.builds(_merge, single_conditions(), single_conditions()))
    return draw(st.recursive(leaves, _combinators, max_leaves=6))


# --- the model ---


def _get(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path; None when it, or anything on the way, is null or missing."""
    value: Any = document
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _stored(value: Any) -> Any:
    """A filter value as the database compares it: date-times at millisecond precision."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def _value_matches(value: Any, operators: Mapping[str, Any]) -> bool:
    """StringFilter, DateTimeFilter and IntFilter: null and missing are the same."""
    for operator, wanted in operators.items():
        wanted = _stored(wanted)
        present = value is not None
        if operator == "eq":
            holds = present and value == wanted
        elif operator == "ne":
            holds = not present or value != wanted
        elif operator == "in":
            holds = present and value in wanted
        elif operator == "nin":
            holds = not present or value not in wanted
        elif operator == "startsWith":
            holds = isinstance(value, str) and value.startswith(wanted)
        elif operator == "exists":
            holds = present == wanted
        elif operator == "gt":
            holds = present and value > wanted
        elif operator == "gte":
            holds = present and value >= wanted
        elif operator == "lt":
            holds = present and value < wanted
        elif operator == "lte":
            holds = present and value <= wanted
        else:
            raise AssertionError(operator)
        if not holds:
            return False
    return True


def _list_matches(values: Any, operators: Mapping[str, Any]) -> bool:
    """A StringFilter on a list: null, missing and empty are the same."""
    entries = values if isinstance(values, list) else []
    for operator, wanted in operators.items():
        if operator == "eq":
            holds = wanted in entries
        elif operator == "ne":
            holds = wanted not in entries
        elif operator == "in":
            holds = any(e in wanted for e in entries)
        elif operator == "nin":
            holds = not any(e in wanted for e in entries)
        elif operator == "startsWith":
            holds = any(isinstance(e, str) and e.startswith(wanted) for e in entries)
        elif operator == "exists":
            holds = bool(entries) == wanted
        else:
            raise AssertionError(operator)
        if not holds:
            return False
    return True


def _flag(value: Any, default: bool) -> bool:
    return default if value is None else value is True


def _element_matches(element: Mapping[str, Any], conditions: Mapping[str, Any]) -> bool:
    for name, condition in conditions.items():
        if name == "locked":
            holds = _flag(element.get("locked"), False) == condition
        elif name == "isRead":
            holds = _flag(element.get("isRead"), True) == condition
        elif name == "tags":
            holds = _list_matches(element.get("tags"), condition)
        elif name == "fileScanResult":
            result = element.get("fileScanResult")
            holds = (result if result is not None else "NotApplicable") in condition
        else:
            holds = _value_matches(element.get(name), condition)
        if not holds:
            return False
    return True


PROCESS_PATHS = {
    "currentTask": "process.currentTask.elementId",
    "altinnTaskType": "process.currentTask.altinnTaskType",
    "started": "process.started",
    "ended": "process.ended",
    "endEvent": "process.endEvent",
}


def _process_matches(doc: Mapping[str, Any], conditions: Mapping[str, Any]) -> bool:
    for name, condition in conditions.items():
        if name == "isComplete":
            holds = _get(doc, "process.ended" if condition else "process.currentTask") is not None
        else:
            holds = _value_matches(_get(doc, PROCESS_PATHS[name]), condition)
        if not holds:
            return False
    return True


def _status_matches(doc: Mapping[str, Any], conditions: Mapping[str, Any]) -> bool:
    for name, condition in conditions.items():
        if name == "readStatus":
            read_status = _get(doc, "status.readStatus")
            holds = (read_status if read_status is not None else "Unread") in condition
        elif name == "substatusLabel":
            holds = _value_matches(_get(doc, "status.substatus.label"), condition)
        else:
            holds = _flag(_get(doc, f"status.{name}"), False) == condition
        if not holds:
            return False
    return True


def _text_under(texts: Any, key: str) -> str | None:
    """A text map's text under `key`: None when the map or key is missing or the value no text."""
    value = texts.get(key) if isinstance(texts, Mapping) else None
    return value if isinstance(value, str) else None


def _texts_match(texts: Any, entry_filters: Sequence[Mapping[str, Any]]) -> bool:
    return all(_value_matches(_text_under(texts, f["key"]), f.get("value", {"exists": True})) for f in entry_filters)


def _searched(texts: Any, wanted: str) -> bool:
    values = texts.values() if isinstance(texts, Mapping) else []
    return any(isinstance(v, str) and wanted.lower() in v.lower() for v in values)


def matches(doc: Mapping[str, Any], instance_filter: Mapping[str, Any]) -> bool:
    for name, condition in instance_filter.items():
        if name == "and":
            holds = all(matches(doc, f) for f in condition)
        elif name == "or":
            holds = any(matches(doc, f) for f in condition)
        elif name == "not":
            holds = not matches(doc, condition)
        elif name == "instanceOwner":
            holds = all(_value_matches(_get(doc, f"instanceOwner.{k}"), v) for k, v in condition.items())
        elif name == "process":
            holds = _process_matches(doc, condition)
        elif name == "status":
            holds = _status_matches(doc, condition)
        elif name == "data":
            elements = doc.get("data")
            holds = isinstance(elements, list) and any(
                isinstance(e, Mapping) and _element_matches(e, condition) for e in elements
            )
        elif name == "search":
            holds = _searched(doc.get("presentationTexts"), condition)
        elif name in ("presentationTexts", "dataValues"):
            holds = _texts_match(doc.get(name), condition)
        elif name == "excludeConfirmedBy":
            confirmations = doc.get("completeConfirmations")
            holds = not (
                isinstance(confirmations, list)
                and any(isinstance(c, Mapping) and c.get("stakeholderId") == condition for c in confirmations)
            )
        else:
            holds = _value_matches(doc.get(name), condition)
        if not holds:
            return False
    return True


def asks_about_hard_deletion(instance_filter: Mapping[str, Any]) -> bool:
    if "isHardDeleted" in instance_filter.get("status", {}):
        return True
    nested = [*instance_filter.get("and", []), *instance_filter.get("or", [])]
    if "not" in instance_filter:
        nested.append(instance_filter["not"])
    return any(asks_about_hard_deletion(f) for f in nested)


def expected_ids(documents: Sequence[Mapping[str, Any]], instance_filter: Mapping[str, Any] | None) -> set[str]:
    instance_filter = instance_filter or {}
    return {
        d["id"]
        for d in documents
        if matches(d, instance_filter)
        and (asks_about_hard_deletion(instance_filter) or not _flag(_get(d, "status.isHardDeleted"), False))
    }


def expected_order(documents: Sequence[Mapping[str, Any]], order: Sequence[SortKey]) -> list[str]:
    """Sorted as MongoDB sorts: null and missing before every date, so first ascending and
    last descending; the first key given wins, and the id breaks ties in the direction of
    the last key."""
    keys: list[SortKey] = []
    for key in order or [SortKey("lastChanged", descending=True)]:
        if all(k.field != key.field for k in keys):
            keys.append(key)
    ordered = sorted(documents, key=lambda d: d["id"], reverse=keys[-1].descending)
    for key in reversed(keys):
        ordered.sort(
            key=lambda d, field=key.field: (d.get(field) is not None, d.get(field) or datetime.min.replace(tzinfo=UTC)),
            reverse=key.descending,
        )
    return [d["id"] for d in ordered]


# --- running the store ---


class Instances:
    """The store holding one example's documents, called from synchronous test code."""

    def __init__(self, runner: asyncio.Runner, store: InstanceStore) -> None:
        self._runner = runner
        self._store = store

    def find(self, instance_filter: Any, order: Sequence[SortKey], first: int, after: str | None):
        return self._runner.run(
            self._store.find_page(
                instance_filter=instance_filter, restriction=None, order=order, first=first, after=after, fields=None
            )
        )

    def count(self, instance_filter: Any) -> int:
        return self._runner.run(self._store.count(instance_filter=instance_filter, restriction=None))


@contextlib.contextmanager
def holding(target: Store, documents: Sequence[dict[str, Any]]) -> Iterator[Instances]:
    """The documents in a fresh database of this store, dropped afterwards. One event loop
    serves the whole example: the driver's client belongs to the loop it started on."""
    name = f"properties_{uuid.uuid4().hex[:12]}"
    with asyncio.Runner() as runner:
        database = connect(target.url, name)
        try:
            runner.run(write_all(database, copy.deepcopy(list(documents)), []))
            yield Instances(runner, InstanceStore(database, CursorCodec(b"property-test-secret")))
        finally:
            if not target.embedded:
                runner.run(database.client.drop_database(name))
            runner.run(database.close())


@SETTINGS
@given(documents=instance_sets(), instance_filter=instance_filters())
def test_the_store_matches_what_the_model_says(store, documents, instance_filter):
    with holding(store, documents) as instances:
        wanted = expected_ids(documents, instance_filter)
        page = instances.find(instance_filter, [], 1000, None)
        count = instances.count(instance_filter)
    assert {d["id"] for d in page.documents} == wanted
    assert len(page.documents) == len(wanted), "a document came twice"
    assert not page.has_next_page
    # The default order: lastChanged descending, then id.
    assert [d["id"] for d in page.documents] == expected_order([d for d in documents if d["id"] in wanted], [])
    assert count == len(wanted)


@SETTINGS
@given(documents=instance_sets(), instance_filter=instance_filters())
def test_the_in_process_matcher_agrees_with_the_model(documents, instance_filter):
    # Subscriptions judge each changed document in process (app/store/matching.py), with the
    # query the database would be sent; the test above holds the database to the same model.
    matches = matcher(compile_read_query(instance_filter, None))
    matched = {d["id"] for d in documents if matches(copy.deepcopy(d))}
    assert matched == expected_ids(documents, instance_filter)


# --- every single condition, on one random set of documents ---


def _nest(path: str, condition: Any) -> dict[str, Any]:
    for name in reversed(path.split(".")):
        condition = {name: condition}
    return condition


def _string_conditions(values: Sequence[str]) -> list[dict[str, Any]]:
    return [
        *({"eq": v} for v in values),
        *({"ne": v} for v in values),
        {"in": list(values[:2])},
        {"in": []},
        {"nin": list(values[:2])},
        {"nin": []},
        {"startsWith": ""},
        {"startsWith": values[0][:2]},
        {"startsWith": "a.b"},
        {"exists": True},
        {"exists": False},
    ]


def _date_conditions() -> list[dict[str, Any]]:
    instants = [FILTER_TIMES[0], FILTER_TIMES[-1]]  # a stored instant, and one with microseconds
    return [
        *({op: t} for op in ("eq", "gt", "gte", "lt", "lte") for t in instants),
        {"exists": True},
        {"exists": False},
    ]


STRING_PATHS = {
    "appId": APP_IDS,
    "org": ORGS,
    "instanceOwner.partyId": PARTIES,
    "instanceOwner.personNumber": PERSON_NUMBERS,
    "instanceOwner.organisationNumber": ["991825827"],
    "createdBy": USERS,
    "lastChangedBy": USERS,
    "process.currentTask": TASKS,
    "process.altinnTaskType": TASK_TYPES,
    "process.endEvent": END_EVENTS,
    "status.substatusLabel": LABELS,
    "data.id": ELEMENT_IDS,
    "data.dataType": DATA_TYPES,
    "data.contentType": CONTENT_TYPES,
    "data.filename": FILENAMES,
    "data.tags": TAGS,
}
DATE_PATHS = [
    "created", "lastChanged", "dueBefore", "visibleAfter", "process.started", "process.ended",
    "data.created", "data.lastChanged",
]  # fmt: skip
SINGLE_CONDITIONS = [
    *(_nest(path, c) for path, values in STRING_PATHS.items() for c in _string_conditions(values)),
    *(_nest(path, c) for path in DATE_PATHS for c in _date_conditions()),
    *({"data": {"size": {op: n}}} for op in ("eq", "ne", "gt", "gte", "lt", "lte") for n in (0, 99, 100)),
    *(_nest(path, flag) for path in ("status.isArchived", "status.isSoftDeleted", "status.isHardDeleted",
                                     "process.isComplete", "data.locked", "data.isRead") for flag in (True, False)),
    *({"status": {"readStatus": v}} for v in (["Unread"], ["Read"], ["Read", "UpdatedSinceLastReview"], [])),
    *({"data": {"fileScanResult": v}} for v in (["NotApplicable"], ["Clean"], ["Infected", "Pending"], [])),
    *({"excludeConfirmedBy": s} for s in STAKEHOLDERS),
    # Combinations whose rules are easy to get subtly wrong.
    {"data": {}},
    {"data": {"locked": False, "isRead": True}},
    {"data": {"dataType": {"eq": "default"}, "contentType": {"eq": "application/pdf"}}},
    {"data": {"tags": {"eq": "x"}, "fileScanResult": ["NotApplicable"]}},
    {"and": []},
    {"or": []},
    {"not": {}},
    {"not": {"or": []}},
    {"not": {"status": {"isHardDeleted": False}}},
    {"or": [{"status": {"isArchived": True}}, {"and": [{"status": {"isHardDeleted": True}}]}]},
    {"not": {"data": {"locked": True}}},
    {"not": {"status": {"readStatus": ["Unread"]}}},
    {"not": {"process": {"isComplete": True}}},
    {"not": {"excludeConfirmedBy": "ttd"}},
    *({"search": s} for s in SEARCHES),
    *({"presentationTexts": [{"key": "a.b", "value": c}]} for c in _string_conditions(TEXTS[:2])),
    {"presentationTexts": [{"key": "$gt", "value": {"startsWith": "søknad"}}]},
    {"dataValues": [{"key": "Navn"}, {"key": "navn", "value": {"ne": "a.b*"}}]},
    {"presentationTexts": [{"key": "Navn", "value": {}}]},
    {"dataValues": []},
    {"not": {"search": "øst"}},
]  # fmt: skip


def _null_parents() -> list[dict[str, Any]]:
    """Old documents: a null status, process, current task, substatus, tag list."""
    bodies = [
        {"status": None, "process": None},
        {"status": {"substatus": None, "readStatus": None}, "process": {"currentTask": None, "ended": None}},
        {"process": {"currentTask": {"elementId": None}}, "data": [{"tags": None, "isRead": None, "locked": None}]},
        {"status": {}, "process": {}, "data": [{"tags": [], "fileScanResult": None}, {"tags": ["x"]}]},
        {"completeConfirmations": None, "data": None, "instanceOwner": {"partyId": "1337", "personNumber": None}},
        {"completeConfirmations": [{"stakeholderId": "acme"}, {"stakeholderId": "ttd"}], "data": []},
        {"presentationTexts": None, "dataValues": {"a.b": None, "$gt": {"Navn": "Søknad ØST"}}},
        {"presentationTexts": {"Navn": 42, "a": ["søknad øst"]}, "dataValues": "søknad øst"},
    ]
    return [
        normalize_instance({"instanceOwner": {"partyId": "1337"}, "appId": "ttd/a", **body, "id": f"1337/{i}"})
        for i, body in enumerate(bodies)
    ]


# No shrinking: each attempt runs the whole list, and the message names the condition.
@settings(SETTINGS, max_examples=12, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(documents=instance_sets(min_size=8, max_size=14))
@example(documents=_null_parents())
def test_every_single_condition_matches_what_the_model_says(store, documents):
    with holding(store, documents) as instances:
        for instance_filter in SINGLE_CONDITIONS:
            page = instances.find(instance_filter, [], 1000, None)
            assert sorted(d["id"] for d in page.documents) == sorted(expected_ids(documents, instance_filter)), (
                instance_filter
            )


sortable_bodies = document(
    instanceOwner=document(partyId=pool(PARTIES)),
    appId=pool(APP_IDS),
    # Two instants and null/missing: ties in every key.
    lastChanged=maybe(pool(DOCUMENT_TIMES[:4])),
    created=maybe(pool(["2024-01-01T11:00:00+01:00", "2024-03-01T12:30:45.1239999Z"])),
    dueBefore=maybe(pool(["2024-01-01T10:00:00Z", "9999-12-31T23:59:59.999Z"])),
    visibleAfter=maybe(pool(["2025-01-01T00:00:00Z", "3000-06-15T08:00:00.123Z"])),
    status=maybe(document(isHardDeleted=maybe(st.booleans()), isArchived=st.booleans())),
)
sort_orders = st.lists(st.builds(SortKey, pool(SORT_FIELDS), st.booleans()), max_size=3)
page_filters = st.one_of(
    st.none(),
    pool([{"status": {"isArchived": False}}, {"status": {"isHardDeleted": True}}, {"appId": {"startsWith": "ttd/"}}]),
    instance_filters(),
)


@SETTINGS
@given(
    documents=instance_sets(min_size=2, max_size=12, sortable=True),
    order=sort_orders,
    first=st.integers(1, 4),
    instance_filter=page_filters,
    data=st.data(),
)
def test_pages_walk_the_whole_order_once(store, documents, order, first, instance_filter, data):
    with holding(store, documents) as instances:
        walk_every_page(instances, documents, order, first, instance_filter, data)


def walk_every_page(instances, documents, order, first, instance_filter, data):
    wanted = expected_ids(documents, instance_filter)
    expected = expected_order([d for d in documents if d["id"] in wanted], order)

    walked: list[str] = []
    cursors: list[str] = []
    after = None
    for _ in range(len(documents) + 1):
        page = instances.find(instance_filter, order, first, after)
        walked += [d["id"] for d in page.documents]
        cursors += page.cursors
        assert len(page.cursors) == len(page.documents)
        if not page.has_next_page:
            break
        assert len(page.documents) == first, "a page before the last is full"
        after = page.cursors[-1]
    assert walked == expected

    # Every edge's cursor, not only a page's last, continues right after that edge.
    if cursors:
        index = data.draw(st.integers(0, len(cursors) - 1), label="cursor index")
        rest = instances.find(instance_filter, order, 1000, cursors[index])
        assert [d["id"] for d in rest.documents] == expected[index + 1 :]
        ahead = instances.find(instance_filter, order, 0, cursors[index])
        assert ahead.documents == []
        assert ahead.has_next_page == (index + 1 < len(expected))


def test_the_model_sorts_nulls_as_mongodb_does():
    def doc(identifier: str, due: Any) -> dict[str, Any]:
        return {"id": identifier, **({} if due is MISSING else {"dueBefore": due})}

    early, late = FILTER_TIMES[0], FILTER_TIMES[-1]
    documents = [doc("c", late), doc("b", None), doc("d", early), doc("a", MISSING), doc("e", late)]
    assert expected_order(documents, [SortKey("dueBefore", descending=False)]) == ["a", "b", "d", "c", "e"]
    assert expected_order(documents, [SortKey("dueBefore", descending=True)]) == ["e", "c", "d", "b", "a"]


def test_the_model_reads_defaults_and_nulls_as_the_contract_says():
    doc = {"id": "1/a", "status": {"isArchived": None}, "data": [{"tags": []}, {"isRead": False, "locked": None}]}
    assert matches(doc, {"status": {"isArchived": False, "readStatus": ["Unread"]}})
    assert not matches(doc, {"status": {"readStatus": ["Read"]}})
    assert matches(doc, {"data": {"isRead": False, "locked": False, "tags": {"exists": False, "ne": "x"}}})
    assert not matches(doc, {"data": {"isRead": False, "tags": {"nin": ["x"], "exists": True}}})
    assert matches(doc, {"createdBy": {"ne": "x", "nin": ["x"], "exists": False}})
    assert not matches(doc, {"or": []})
    assert matches(doc, {"and": []})
    assert expected_ids([doc, {"id": "1/b", "status": {"isHardDeleted": True}}], None) == {"1/a"}
    assert expected_ids(
        [doc, {"id": "1/b", "status": {"isHardDeleted": True}}], {"not": {"status": {"isHardDeleted": False}}}
    ) == {"1/b"}
    assert _value_matches(FILTER_TIMES[1], {"eq": FILTER_TIMES[1] + timedelta(microseconds=999)})
