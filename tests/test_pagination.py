"""Keyset pages over GraphQL: every order, heavy ties and nulls, cursors that are checked.

Walking `instances(first: k, after: ...)` page by page must give each visible document
exactly once, in the order of the contract: the sort keys (null and missing before every
date ascending, after every date descending), then id ascending.
"""

import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bson import ObjectId

from app.composition import create_app
from app.config import Settings
from app.errors import BadUserInput
from app.store.cursors import CursorCodec
from app.store.database import Database
from app.store.documents import normalize_instance
from app.store.instances import InstanceStore
from app.store.ordering import SortKey
from app.store.writes import write_all
from tests.conftest import TEST_SECRET, Gateway, Store
from tests.factories import make_instance

MISSING = object()
# Two instants spelled several ways (equal once stored), a far-future "never", null and missing.
EARLY = "2024-01-01T10:00:00Z"
EARLY_AGAIN = "2024-01-01T11:00:00.0000000+01:00"
LATE = "2024-05-17T08:30:00.1234567Z"
NEVER = "9999-12-31T23:59:59.999Z"
TIMES = [EARLY, LATE, None, MISSING, EARLY_AGAIN, NEVER, LATE]
# What stored documents (an export imported as it is, storage written by others) may hold where
# a date belongs; MongoDB sorts each type as a block. (Booleans aside: mongomock finds 0 equal
# to false. Arrays aside: MongoDB sorts them by an element, which pages cannot follow.)
ODD_SORT_VALUES = [
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(1960, 1, 1, tzinfo=UTC),
    "2024-01-02T03:04:05Z",
    "not a date",
    "",
    5,
    2.5,
    0,
    None,
    MISSING,
    {"a": 1},
    {"ms": 5},  # what a cursor writes for a date
    {"$gt": 1},  # no operator, where a condition names the value
    ObjectId("65a000000000000000000000"),
    True,
]

FIELDS = {
    "LAST_CHANGED": "lastChanged",
    "CREATED": "created",
    "DUE_BEFORE": "dueBefore",
    "VISIBLE_AFTER": "visibleAfter",
}

PAGE_QUERY = """
query Page($first: Int, $after: String, $orderBy: [InstanceOrder!], $filter: InstanceFilter) {
  instances(first: $first, after: $after, orderBy: $orderBy, filter: $filter) {
    totalCount
    edges { cursor node { id } }
    nodes { id lastChanged created dueBefore visibleAfter }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _guid(number: int) -> str:
    return str(uuid.UUID(int=number))


def _timed(index: int, **fields: Any) -> dict[str, Any]:
    """Instance `index` with each sort field set from TIMES by its own stride, so values tie
    often and combinations vary; ids are in an order unrelated to the timestamps."""
    document = make_instance(guid=_guid((index * 7919) % 1000 + 1), **fields)
    for stride, field in enumerate(FIELDS.values(), start=1):
        value = TIMES[(index * stride + stride) % len(TIMES)]
        if value is MISSING:
            document.pop(field, None)
        else:
            document[field] = value
    return document


def _documents() -> list[dict[str, Any]]:
    visible = [_timed(i) for i in range(17)]
    hidden = [
        _timed(90, status={"isHardDeleted": True, "isSoftDeleted": True}),
        _timed(91, app_id="acme/other"),  # another org's instance: ttd may not read it
    ]
    return visible + hidden


def _stored(value: Any) -> datetime | None:
    return None if value is None or value is MISSING else normalize_instance(make_instance(created=value))["created"]


def expected_order(documents: Sequence[dict[str, Any]], order: Sequence[tuple[str, str]]) -> list[str]:
    """Ids in the contract's order; `order` is (field, direction) pairs, the first of a field wins."""
    keys: list[tuple[str, bool]] = []
    for field, direction in order or [("lastChanged", "DESC")]:
        if all(f != field for f, _ in keys):
            keys.append((field, direction == "DESC"))
    # The id breaks ties in the direction of the last key.
    ordered = sorted(documents, key=lambda d: d["id"], reverse=keys[-1][1])
    for field, descending in reversed(keys):
        # Null and missing sort before every date: first ascending, last descending.
        ordered.sort(
            key=lambda d, f=field: (_stored(d.get(f)) is not None, _stored(d.get(f)) or ""), reverse=descending
        )
    return [d["id"] for d in ordered]


def _visible(documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in documents if d["org"] == "ttd" and not d["status"].get("isHardDeleted")]


async def _page(gw: Gateway, **variables: Any) -> dict[str, Any]:
    return (await gw.data(PAGE_QUERY, variables))["instances"]


async def walk(gw: Gateway, first: int, total: int, after: str | None = None, **variables: Any) -> list[str]:
    """Every page from the start (or from `after`); checks each page's promises on the way."""
    ids: list[str] = []
    for _ in range(total + 2):
        page = await _page(gw, first=first, after=after, **variables)
        assert page["totalCount"] == total, "totalCount does not depend on first or after"
        assert [e["node"]["id"] for e in page["edges"]] == [n["id"] for n in page["nodes"]]
        ids += [n["id"] for n in page["nodes"]]
        info = page["pageInfo"]
        assert info["endCursor"] == (page["edges"][-1]["cursor"] if page["edges"] else None)
        if not info["hasNextPage"]:
            return ids
        assert len(page["nodes"]) == first, "only the last page may be short"
        after = info["endCursor"]
    raise AssertionError(f"more pages than documents: {ids}")


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", list(FIELDS))
async def test_every_order_walks_each_document_once(gateway_with, field, direction):
    documents = _documents()
    visible = _visible(documents)
    expected = expected_order(visible, [(FIELDS[field], direction)])
    async with gateway_with(documents) as gw:
        for first in (1, 3, 16, 17, 100):
            walked = await walk(gw, first, len(visible), orderBy=[{"field": field, "direction": direction}])
            assert walked == expected, f"first: {first}"
        # The values shown are in that order too.
        nodes = (await _page(gw, first=100, orderBy=[{"field": field, "direction": direction}]))["nodes"]
    values = [n[FIELDS[field]] for n in nodes]
    dated = [v for v in values if v is not None]
    assert dated == sorted(dated, reverse=direction == "DESC")
    nulls = [i for i, v in enumerate(values) if v is None]
    assert nulls == (list(range(len(nulls))) if direction == "ASC" else list(range(len(dated), len(values))))
    assert values.count("9999-12-31T23:59:59.999Z") == sum(d.get(FIELDS[field]) == NEVER for d in visible)


async def test_default_order_is_last_changed_descending_then_id(gateway_with):
    documents = _documents()
    visible = _visible(documents)
    async with gateway_with(documents) as gw:
        walked = await walk(gw, 4, len(visible))
        explicit = await walk(gw, 4, len(visible), orderBy=[{"field": "LAST_CHANGED"}])
    assert walked == explicit == expected_order(_visible(documents), [("lastChanged", "DESC")])


@pytest.mark.parametrize(
    "order",
    [
        [("DUE_BEFORE", "ASC"), ("LAST_CHANGED", "DESC")],
        [("VISIBLE_AFTER", "DESC"), ("CREATED", "ASC")],
        [("CREATED", "DESC"), ("DUE_BEFORE", "DESC"), ("VISIBLE_AFTER", "ASC")],
        [("CREATED", "ASC"), ("CREATED", "DESC")],  # a field given twice: the first counts
    ],
)
async def test_several_keys_walk_each_document_once(gateway_with, order):
    documents = _documents()
    visible = _visible(documents)
    async with gateway_with(documents) as gw:
        walked = await walk(gw, 2, len(visible), orderBy=[{"field": f, "direction": d} for f, d in order])
    assert walked == expected_order(_visible(documents), [(FIELDS[f], d) for f, d in order])


async def test_each_edge_cursor_continues_right_after_its_edge(gateway_with):
    documents = _documents()
    order = [{"field": "DUE_BEFORE", "direction": "ASC"}]
    async with gateway_with(documents) as gw:
        everything = await _page(gw, first=100, orderBy=order)
        ids = [e["node"]["id"] for e in everything["edges"]]
        for index, edge in enumerate(everything["edges"]):
            rest = await _page(gw, first=100, after=edge["cursor"], orderBy=order)
            assert [n["id"] for n in rest["nodes"]] == ids[index + 1 :]
            assert rest["pageInfo"]["hasNextPage"] is False


async def test_a_filtered_walk(gateway_with):
    documents = _documents()
    instance_filter = {"or": [{"dueBefore": {"exists": False}}, {"created": {"gte": "2024-05-01"}}]}
    matching = [
        d
        for d in _visible([normalize_instance(d) for d in documents])
        if d.get("dueBefore") is None
        or (d.get("created") is not None and d["created"] >= datetime(2024, 5, 1, tzinfo=UTC))
    ]
    assert 3 < len(matching) < len(_visible(documents))
    order = [{"field": "VISIBLE_AFTER", "direction": "ASC"}]
    async with gateway_with(documents) as gw:
        walked = await walk(gw, 2, len(matching), orderBy=order, filter=instance_filter)
    raw = {d["id"]: d for d in documents}
    assert walked == expected_order([raw[d["id"]] for d in matching], [("visibleAfter", "ASC")])


async def test_first_zero_gives_no_nodes_but_tells_whether_more_follow(gateway_with):
    documents = _documents()
    total = len(_visible(documents))
    async with gateway_with(documents) as gw:
        page = await _page(gw, first=0)
        assert page["nodes"] == [] and page["edges"] == []
        assert page["pageInfo"] == {"hasNextPage": True, "endCursor": None}
        assert page["totalCount"] == total

        second_last, last = (e["cursor"] for e in (await _page(gw, first=100))["edges"][-2:])
        assert (await _page(gw, first=0, after=second_last))["pageInfo"]["hasNextPage"] is True
        after_last = await _page(gw, first=0, after=last)
        assert after_last["pageInfo"] == {"hasNextPage": False, "endCursor": None}
        assert after_last["totalCount"] == total

        nothing = await _page(gw, first=0, filter={"appId": {"eq": "ttd/none"}})
        assert nothing["pageInfo"]["hasNextPage"] is False
        assert nothing["totalCount"] == 0


async def test_the_last_full_page_has_no_next_page(gateway_with):
    documents = [make_instance(guid=_guid(i)) for i in range(1, 7)]
    async with gateway_with(documents) as gw:
        first_page = await _page(gw, first=3)
        second_page = await _page(gw, first=3, after=first_page["pageInfo"]["endCursor"])
        assert first_page["pageInfo"]["hasNextPage"] is True
        assert len(second_page["nodes"]) == 3
        assert second_page["pageInfo"]["hasNextPage"] is False
        empty = await _page(gw, first=3, after=second_page["pageInfo"]["endCursor"])
        assert empty["nodes"] == [] and empty["pageInfo"] == {"hasNextPage": False, "endCursor": None}
        assert empty["totalCount"] == 6


@pytest.mark.parametrize("first", [1001, -1, -1000, 2**31 - 1])
async def test_first_out_of_range_is_bad_user_input(gateway_with, first):
    async with gateway_with([make_instance()]) as gw:
        body = await gw.query(PAGE_QUERY, {"first": first})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"]


async def test_first_at_the_limits_is_accepted(gateway_with):
    async with gateway_with([make_instance(), make_instance()]) as gw:
        assert len((await _page(gw, first=1000))["nodes"]) == 2
        assert len((await _page(gw, first=None))["nodes"]) == 2  # null: the default page size


def _flip(cursor: str, index: int) -> str:
    replacement = "B" if cursor[index] == "A" else "A"
    return cursor[:index] + replacement + cursor[index + 1 :]


def _tampered(cursor: str) -> dict[str, str]:
    token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    payload, signature = token[:-16], token[-16:]
    fingerprint, values, _ = json.loads(payload)
    forged = json.dumps([fingerprint, values, "1337/ffffffff-ffff-ffff-ffff-ffffffffffff"], separators=(",", ":"))
    return {
        "first character flipped": _flip(cursor, 0),
        "middle character flipped": _flip(cursor, len(cursor) // 2),
        "signature character flipped": _flip(cursor, len(cursor) - 5),
        "last character flipped": _flip(cursor, len(cursor) - 1),
        "truncated": cursor[:-4],
        "extended": cursor + "AAAA",
        "a stray character": cursor[:10] + "!" + cursor[10:],
        "padding added": cursor + "=" * (-len(cursor) % 4 or 4),
        "garbage": "not a cursor",
        "not ascii": "kürsor",
        "base64 of junk": base64.urlsafe_b64encode(b"junk" * 12).decode(),
        "too short to be signed": base64.urlsafe_b64encode(b"[]").decode(),
        "payload re-signed with junk": base64.urlsafe_b64encode(forged.encode() + b"\0" * 16).decode(),
        "payload changed, old signature": base64.urlsafe_b64encode(forged.encode() + signature).decode(),
    }


async def test_a_tampered_cursor_is_bad_user_input(gateway_with):
    async with gateway_with(_documents()) as gw:
        cursor = (await _page(gw, first=3))["pageInfo"]["endCursor"]
        assert (await gw.query(PAGE_QUERY, {"first": 3, "after": cursor})).get("errors") is None
        for name, tampered in _tampered(cursor).items():
            assert tampered != cursor
            for query in (PAGE_QUERY, "query($after: String) { instances(after: $after) { totalCount } }"):
                body = await gw.query(
                    query, {"first": 3, "after": tampered} if query is PAGE_QUERY else {"after": tampered}
                )
                assert body["data"] is None, name
                [error] = body["errors"]
                assert error["extensions"]["code"] == "BAD_USER_INPUT", name
                assert "cursor" in error["message"], name


@pytest.mark.parametrize(
    ("issued", "used"),
    [
        ({"filter": {"org": {"eq": "ttd"}}}, {"filter": {"org": {"eq": "acme"}}}),
        ({"filter": {"org": {"eq": "ttd"}}}, {}),
        ({}, {"filter": {"org": {"eq": "ttd"}}}),
        ({"filter": {"created": {"gte": "2024-01-01"}}}, {"filter": {"created": {"gte": "2024-01-02"}}}),
        (
            {"orderBy": [{"field": "CREATED", "direction": "ASC"}]},
            {"orderBy": [{"field": "CREATED", "direction": "DESC"}]},
        ),
        ({"orderBy": [{"field": "CREATED", "direction": "ASC"}]}, {}),
        ({}, {"orderBy": [{"field": "DUE_BEFORE", "direction": "DESC"}]}),
        (
            {"orderBy": [{"field": "CREATED", "direction": "ASC"}]},
            {"orderBy": [{"field": "CREATED", "direction": "ASC"}, {"field": "DUE_BEFORE", "direction": "ASC"}]},
        ),
    ],
)
async def test_a_cursor_from_another_query_is_bad_user_input(gateway_with, issued, used):
    async with gateway_with(_documents()) as gw:
        cursor = (await _page(gw, first=2, **issued))["pageInfo"]["endCursor"]
        assert cursor is not None
        body = await gw.query(PAGE_QUERY, {"first": 2, "after": cursor, **used})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "another query" in error["message"]


async def test_the_same_query_spelled_differently_keeps_its_cursors(gateway_with):
    async with gateway_with(_documents()) as gw:
        cursor = (await _page(gw, first=2))["pageInfo"]["endCursor"]
        page = await _page(gw, first=2, after=cursor, orderBy=[{"field": "LAST_CHANGED", "direction": "DESC"}])
    assert len(page["nodes"]) == 2


@pytest.mark.parametrize(
    "value",
    [
        datetime(1900, 2, 28, 23, 59, 59, 1000, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2024, 5, 17, 8, 30, 0, 123000, tzinfo=UTC),
        datetime(3000, 12, 31, 23, 59, 59, 1000, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        None,
        *ODD_SORT_VALUES[2:8],
        *ODD_SORT_VALUES[10:],
    ],
)
def test_cursor_values_come_back_exactly(value):
    codec = CursorCodec(b"secret")
    cursor = codec.encode("fingerprint", [value, None], "1337/a")
    assert codec.decode(cursor, "fingerprint", 2) == ([value, None], "1337/a")
    with pytest.raises(BadUserInput, match="another query"):
        codec.decode(cursor, "fingerprint", 1)
    with pytest.raises(BadUserInput, match="not a cursor this gateway issued"):
        CursorCodec(b"other secret").decode(cursor, "fingerprint", 2)


@pytest.mark.parametrize("descending", [True, False])
async def test_pages_over_sort_values_of_every_type_walk_each_document_once_both_ways(database, descending):
    documents = []
    for n, value in enumerate(ODD_SORT_VALUES * 2):
        document = {"id": f"1/{_guid(n)}", "instanceOwner": {"partyId": "1"}, "appId": "ttd/a", "org": "ttd"}
        documents.append(document if value is MISSING else document | {"lastChanged": value})
    await database.instances.insert_many(documents)
    store = InstanceStore(database, CursorCodec(b"secret"))
    read = {"instance_filter": None, "restriction": None, "order": [SortKey("lastChanged", descending)]}
    whole = [d["id"] for d in (await store.find_page(**read, first=100, after=None, fields=None)).documents]
    forward: list[str] = []
    backward: list[str] = []
    after = before = None
    for _ in documents:
        page = await store.find_page(**read, first=2, after=after, fields=["id"])
        forward += [d["id"] for d in page.documents]
        if not page.has_next_page:
            break
        after = page.cursors[-1]
    for _ in documents:
        page = await store.find_page(**read, last=2, before=before, after=None, fields=["id"], check_previous_page=True)
        backward = [d["id"] for d in page.documents] + backward
        if not page.has_previous_page:
            break
        before = page.cursors[0]
    assert len(whole) == len(documents)
    assert forward == whole
    assert backward == whole


@contextlib.asynccontextmanager
async def gateway_and_database(
    store: Store, instances: Sequence[dict[str, Any]]
) -> AsyncIterator[tuple[Gateway, Database]]:
    """Like the gateway_with fixture, and also hands out the database to change it directly."""
    opened: list[Database] = []

    async def seed(database: Database) -> None:
        opened.append(database)
        await write_all(database, [normalize_instance(d) for d in instances], [])

    app = create_app(Settings(_env_file=None, jwt_secret=TEST_SECRET, **store.settings()), seed=seed)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client), opened[0]


@pytest.mark.parametrize("direction", ["DESC", "ASC"])
async def test_instances_inserted_between_pages_cause_no_repeats(store, direction):
    documents = _documents()
    order = [{"field": "DUE_BEFORE", "direction": direction}]
    async with gateway_and_database(store, documents) as (gw, database):
        page = await _page(gw, first=5, orderBy=order)
        seen = [n["id"] for n in page["nodes"]]
        last = page["nodes"][-1]
        # Instances sorting before the page's last document (already read) and after it.
        ascending = direction == "ASC"
        # Ties go by id in the order's direction.
        lowest, highest = _guid(0), "ffffffff-ffff-4fff-bfff-ffffffffffff"
        read = [
            make_instance(guid=lowest if ascending else highest, dueBefore=last["dueBefore"]),  # tied, before it
            make_instance(party_id="1", dueBefore=None if ascending else NEVER),  # first of all
        ]
        unread = [
            make_instance(guid=highest if ascending else lowest, dueBefore=last["dueBefore"]),  # tied, after it
            make_instance(party_id="9", dueBefore=NEVER if ascending else None),  # last of all
        ]
        await write_all(database, [normalize_instance(d) for d in read + unread], [])
        total = len(_visible(documents)) + len(read) + len(unread)
        rest = await walk(gw, 3, total, after=page["pageInfo"]["endCursor"], orderBy=order)

    walked = seen + rest
    assert len(walked) == len(set(walked)), "a document came twice"
    everything = expected_order(_visible(documents) + read + unread, [("dueBefore", direction)])
    assert everything[: len(seen)] != seen, "the insertions changed what the first page would be"
    assert rest == everything[everything.index(last["id"]) + 1 :]
    assert {d["id"] for d in unread} <= set(rest)
    assert not {d["id"] for d in read} & set(walked)


@pytest.mark.parametrize("first", [0, 1, 101, 102, 202, 249, 250, 400])
async def test_a_streamed_page_is_the_page_whatever_its_batches(database, first):
    """The page taken document by document as the database sends it (in batches of 101 from
    MongoDB) is the page read whole: the same documents and cursors, the same next page."""
    await write_all(database, [normalize_instance(_timed(i)) for i in range(250)], [])
    store = InstanceStore(database, CursorCodec(b"secret"))
    read = {"instance_filter": None, "restriction": None, "order": None, "first": first, "after": None, "fields": None}
    page = await store.find_page(**read)
    stream = await store.stream_page(**read)
    taken: list[dict] = []
    batches = 0
    async with contextlib.aclosing(stream.batches()) as documents_of_batches:
        async for documents in documents_of_batches:
            batches += 1
            taken.extend(documents)
    assert [stream.cursor_of(d) for d in taken] == page.cursors
    assert [d["id"] for d in taken] == [d["id"] for d in page.documents]
    assert len(taken) == min(first, 250)
    assert (stream.has_next_page, page.has_next_page) == (first < 250, first < 250)
    assert stream.end_cursor == (page.cursors[-1] if page.cursors else None)
    if not database.embedded and first > 101:
        assert batches > 1
