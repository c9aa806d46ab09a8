"""The change hub's decisions, directly: who gets what of a change, whom a change is judged
for, whom a change of grants re-decides, and the slow-consumer limit."""

import asyncio
import contextlib
import functools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.authorization.access import OWN_PARTY_ROLE, Access
from app.authorization.identity import Caller
from app.context import access_of
from app.errors import ServiceUnavailable
from app.store.change_feed import LocalChangeFeed, StoredChange
from app.store.change_stream import ChangesLost, ChangeStreamsUnavailable
from app.store.cursors import CursorCodec
from app.store.documents import normalize_instance
from app.store.filters import compile_read_query
from app.store.matching import matcher
from app.subscriptions.grants import follow_grants, regrant
from app.subscriptions.hub import ChangeEvent, ChangeHub
from app.subscriptions.resumption import Resumption
from app.subscriptions.visibility import Visibility, visibility_key
from tests.factories import make_instance
from tests.generated_changes import PARTIES, POLICIES, ROLES, accesses, instance_documents, instance_filters

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# The tests here dispatch by hand; none resumes.
RESUMPTION = Resumption(CursorCodec(b"test"), LocalChangeFeed().replay, limit=10)


class Sees:
    """A visibility that sees documents of one app, counting how often it is asked."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.reach = frozenset({("appId", app_id)})
        self.role_holder = None
        self.asked = 0

    def sees(self, document: dict[str, Any] | None, at: datetime) -> bool:
        self.asked += 1
        return document is not None and document.get("appId") == self.app_id


def doc(app_id: str = "ttd/a", **fields: Any) -> dict[str, Any]:
    return {"_id": 1, "id": "1/x", "appId": app_id, **fields}


def drain(subscriber) -> list[ChangeEvent]:
    events = []
    while not subscriber._queue.empty():
        events.append(subscriber._queue.get_nowait())
    return events


@contextlib.asynccontextmanager
async def open_hub(queue_size: int = 10) -> AsyncIterator[ChangeHub]:
    """A hub following a source that never changes: the tests dispatch by hand."""
    hub = ChangeHub(queue_size, open_timeout_s=1, resumption=RESUMPTION)

    async def quiet(on_open):
        on_open()
        await asyncio.Event().wait()
        yield

    following = asyncio.create_task(hub.run(quiet))
    await hub.ready()
    yield hub
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following


async def test_each_subscriber_gets_the_change_as_it_sees_it():
    app_a, app_b = Sees("ttd/a"), Sees("ttd/b")
    async with (
        open_hub() as hub,
        hub.subscribe("a", lambda: app_a, print) as a,
        hub.subscribe("b", lambda: app_b, print) as b,
    ):
        hub.dispatch(StoredChange("insert", 1, None, doc(), NOW))
        [created] = drain(a)
        assert (created.operation, created.instance_id, created.document) == ("CREATED", "1/x", doc())
        assert drain(b) == []
        # moved from one app to the other (pre-image known): a loses it, b gains it
        hub.dispatch(StoredChange("update", 1, doc(), doc("ttd/b"), NOW))
        [deleted] = drain(a)
        assert (deleted.operation, deleted.document) == ("DELETED", None)
        [updated] = drain(b)
        assert (updated.operation, updated.document["appId"]) == ("UPDATED", "ttd/b")


async def test_without_a_pre_image_a_deletion_reaches_those_who_were_sent_the_instance():
    async with open_hub() as hub, hub.subscribe("a", lambda: Sees("ttd/a"), print) as a:
        hub.dispatch(StoredChange("update", 1, None, doc(), NOW))
        assert [e.operation for e in drain(a)] == ["UPDATED"]
        hub.dispatch(StoredChange("delete", 1, None, None, NOW))
        [deleted] = drain(a)
        assert (deleted.operation, deleted.instance_id) == ("DELETED", "1/x")
        hub.dispatch(StoredChange("delete", 1, None, None, NOW))  # not in sight any more
        assert drain(a) == []


async def test_a_change_is_judged_once_for_all_subscribers_who_see_alike_and_shared():
    seen = Sees("ttd/a")
    async with (
        open_hub() as hub,
        hub.subscribe("a", lambda: seen, print) as first,
        hub.subscribe("a", lambda: Sees("never made"), print) as second,
    ):
        hub.dispatch(StoredChange("update", 1, doc(), doc(status={}), NOW))
        assert seen.asked == 1  # once for both (seen after: the before is not asked)
        assert drain(first)[0] is drain(second)[0]


async def test_a_slow_subscriber_is_dropped_and_never_delays_the_others():
    dropped: list[str] = []
    async with (
        open_hub(queue_size=2) as hub,
        hub.subscribe("slow", lambda: Sees("ttd/a"), dropped.append) as slow,
        hub.subscribe("fast", lambda: Sees("ttd/a"), dropped.append) as fast,
    ):
        received = []
        for n in range(5):
            hub.dispatch(StoredChange("update", 1, doc(n=n), doc(n=n + 1), NOW))
            received.append(await anext(fast))
        assert [e.document["n"] for e in received] == [1, 2, 3, 4, 5]
        assert dropped == ["too slow: 2 changes were waiting to be sent"]
        assert await anext(slow, None) is None  # it ends; the transport closes its connection


async def test_on_a_standalone_server_subscriptions_are_refused_with_the_reason():
    hub = ChangeHub(10, open_timeout_s=1, resumption=RESUMPTION)

    async def standalone(on_open):
        raise ChangeStreamsUnavailable("The $changeStream stage is only supported on replica sets")
        yield

    await hub.run(standalone)
    with pytest.raises(ServiceUnavailable, match="replica set"):
        await hub.ready()


async def test_a_change_is_judged_only_for_subscribers_its_org_app_or_party_names():
    app_a, app_b, everything = Sees("ttd/a"), Sees("ttd/b"), Sees("ttd/a")
    everything.reach = None  # names no org, app or party: judged for every change
    async with (
        open_hub() as hub,
        hub.subscribe("a", lambda: app_a, print),
        hub.subscribe("b", lambda: app_b, print),
        hub.subscribe("all", lambda: everything, print),
    ):
        assert hub.unbounded_subscriber_count == 1
        hub.dispatch(StoredChange("update", 1, doc(), doc(status={}), NOW))
        assert (app_a.asked, app_b.asked, everything.asked) == (1, 0, 1)
    assert hub.unbounded_subscriber_count == 0


async def test_without_pre_images_the_hub_keeps_one_image_per_instance_for_all_subscribers():
    async with (
        open_hub() as hub,
        hub.subscribe("a", lambda: Sees("ttd/a"), print) as a,
        hub.subscribe("b", lambda: Sees("ttd/b"), print) as b,
    ):
        hub.dispatch(StoredChange("update", 1, None, doc(), NOW))
        # b subscribed before, but was never sent the instance: it learns it was moved to b
        hub.dispatch(StoredChange("update", 1, None, doc("ttd/b"), NOW))
        assert [e.operation for e in drain(a)] == ["UPDATED", "DELETED"]
        assert [e.operation for e in drain(b)] == ["UPDATED"]
    # bounded, however many instances change
    assert len(hub._last_images._images) == 1


def _judged(access: Access, instance_filter: Any, change: StoredChange, before: Any) -> tuple[Any, ...] | None:
    """The unindexed judgment of one change for one subscriber, from first principles."""
    sees = matcher(compile_read_query(instance_filter, access.read_restriction(change.at)))
    if change.after is not None and sees(change.after):
        return ("CREATED" if change.operation == "insert" else "UPDATED", change.after["id"], change.after)
    if before is not None and sees(before):
        return ("DELETED", before["id"], None)
    return None


@st.composite
def _changes(draw: st.DrawFn) -> list[tuple[str, Any, Any]]:
    """A run of changes of two instances: (operation, key, the document after or None)."""
    current: dict[int, Any] = {}
    run = []
    for key in draw(st.lists(st.sampled_from([1, 2]), min_size=1, max_size=6)):
        if key not in current:
            current[key] = draw(instance_documents(key))
            run.append(("insert", key, current[key]))
        elif draw(st.integers(0, 4)) == 0:
            run.append(("delete", key, current.pop(key)))
        else:
            current[key] = draw(instance_documents(key))
            run.append(("update", key, current[key]))
    return run


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(accesses, instance_filters), min_size=1, max_size=6),
    _changes(),
    st.booleans(),
)
def test_the_indexed_hub_delivers_exactly_what_judging_every_subscriber_would(subscriptions, run, pre_images):
    subscriptions += subscriptions[:1]  # two subscribers who share one visibility

    async def deliveries() -> tuple[list[list[Any]], list[list[Any]]]:
        delivered: list[list[Any]] = [[] for _ in subscriptions]
        expected: list[list[Any]] = [[] for _ in subscriptions]
        async with open_hub(queue_size=100) as hub, contextlib.AsyncExitStack() as stack:
            subscribers = [
                await stack.enter_async_context(
                    hub.subscribe(visibility_key(a, f), functools.partial(Visibility, a, f), print)
                )
                for a, f in subscriptions
            ]
            if not pre_images:  # the hub learns that the store keeps none, before the run
                hub.dispatch(StoredChange("update", 0, None, None, NOW))
            images: dict[int, Any] = {}
            for operation, key, document in run:
                before, after = images.get(key), None if operation == "delete" else document
                change = StoredChange(operation, key, before if pre_images else None, after, NOW)
                images[key] = after
                hub.dispatch(change)
                for n, (access, instance_filter) in enumerate(subscriptions):
                    judged = _judged(access, instance_filter, change, before)
                    expected[n] += [judged] if judged else []
            for n, subscriber in enumerate(subscribers):
                delivered[n] = [(e.operation, e.instance_id, e.document) for e in drain(subscriber)]
        return delivered, expected

    delivered, expected = asyncio.run(deliveries())
    assert delivered == expected


class StoredGrants:
    """partyRoles as a dict, counting whose grants are read."""

    def __init__(self, grants: dict[str, dict[str, frozenset[str]]] | None = None) -> None:
        self.grants = grants or {}
        self.reads: Counter[str] = Counter()

    async def roles_of(self, user_id: str) -> dict[str, frozenset[str]]:
        self.reads[user_id] += 1
        return dict(self.grants.get(user_id, {}))

    def read_access(self, caller: Caller) -> Awaitable[Access]:
        return access_of(caller, self, POLICIES)  # type: ignore[arg-type]  # PartyRoles' one method


def end_user(user: str, roles: dict[str, frozenset[str]] | None = None) -> Access:
    own = {user: frozenset({OWN_PARTY_ROLE})}
    return Access(Caller(user_id=user, party_id=user, auth_level=2), {**(roles or {}), **own}, POLICIES)


def subscription(hub: ChangeHub, access: Access, instance_filter: Any = None) -> Any:
    visibility = functools.partial(Visibility, access, instance_filter)
    return hub.subscribe(visibility_key(access, instance_filter), visibility, print)


def party_doc(party: str) -> dict[str, Any]:
    """An instance of the party that its DAGL may read (at auth level 2)."""
    return {"_id": 1, **normalize_instance(make_instance(party_id=party, app_id="ttd/melding", guid="x"))}


DAGL = frozenset({"DAGL"})


async def test_a_grant_change_re_decides_its_users_subscribers_alone():
    stored = StoredGrants({"1": {"500": DAGL}})
    async with open_hub(queue_size=100) as hub, contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(subscription(hub, end_user("1")))
        others = [await stack.enter_async_context(subscription(hub, end_user(str(n)))) for n in range(2000, 3000)]
        other_visibilities = [s.audience.visibility for s in others]
        await regrant(hub, "1", stored.read_access)
        assert stored.reads == {"1": 1}
        assert [s.audience.visibility for s in others] == other_visibilities
        hub.dispatch(StoredChange("update", 1, None, party_doc("500"), NOW))
        assert [e.instance_id for e in drain(first)] == ["500/x"]
        # a subscription made since with the new grants shares the re-filed audience
        second = await stack.enter_async_context(subscription(hub, end_user("1", {"500": DAGL})))
        assert second.audience is first.audience
        stored.grants["1"] = {}
        await regrant(hub, "1", stored.read_access)
        hub.dispatch(StoredChange("update", 1, None, party_doc("500"), NOW))
        assert drain(first) == drain(second) == []  # and no DELETED for what the revocation hid
        assert all(drain(s) == [] for s in others)


async def test_a_user_whose_changed_grants_cannot_be_read_is_told_so_and_others_go_on():
    async def unreadable(caller: Caller) -> Access:
        raise ServiceUnavailable("the database is away")

    async with (
        open_hub() as hub,
        subscription(hub, end_user("1")) as first,
        subscription(hub, end_user("2")) as second,
        subscription(hub, Access(Caller(org="ttd", auth_level=3), {}, POLICIES)) as owner,
    ):
        await regrant(hub, None, unreadable)  # anyone's: each role holder's subscribers end
        for subscriber in (first, second):
            with pytest.raises(ServiceUnavailable, match="subscribe again"):
                await anext(subscriber)
        assert drain(owner) == []


async def test_when_grants_can_no_longer_be_followed_every_subscription_ends():
    async def broken() -> AsyncIterator[str | None]:
        yield "1"
        raise RuntimeError("the feed broke")

    async with open_hub() as hub, subscription(hub, end_user("1")) as subscriber:
        await follow_grants(hub, broken, StoredGrants().read_access)
        with pytest.raises(ServiceUnavailable, match="role grants can no longer be followed"):
            await anext(subscriber)
        with pytest.raises(ServiceUnavailable):
            await hub.ready()


async def test_when_changes_were_lost_every_subscription_ends_and_following_starts_again():
    # The stream could not resume (the oplog moved past it): subscribers missed changes unsaid.
    hub = ChangeHub(10, open_timeout_s=1, resumption=RESUMPTION)
    opened = 0
    lost = asyncio.Event()

    async def breaks_once(on_open):
        nonlocal opened
        opened += 1
        on_open()
        if opened == 1:
            await lost.wait()
            raise ChangesLost("the change stream of instances cannot resume")
        await asyncio.Event().wait()
        yield

    following = asyncio.create_task(hub.run(breaks_once))
    try:
        await hub.ready()
        async with hub.subscribe("a", lambda: Sees("ttd/a"), print) as before:
            lost.set()
            with pytest.raises(ServiceUnavailable, match="query again, then subscribe again"):
                await anext(before)
        async with hub.subscribe("a", lambda: Sees("ttd/a"), print) as after:
            assert opened == 2, "following started again"
            hub.dispatch(StoredChange("insert", 1, None, doc(), NOW))
            assert [e.operation for e in drain(after)] == ["CREATED"]
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def test_when_grant_changes_were_lost_role_holders_subscribe_again_and_others_go_on():
    attempts = 0

    async def loses_once() -> AsyncIterator[str | None]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ChangesLost("the change stream of partyRoles cannot resume")
        yield "1"

    async with (
        open_hub() as hub,
        subscription(hub, end_user("1")) as holder,
        hub.subscribe("owner", lambda: Sees("ttd/a"), print) as owner,  # no role holder's grants decide it
    ):
        await follow_grants(hub, loses_once, StoredGrants().read_access)
        assert attempts == 2, "following started again"
        with pytest.raises(ServiceUnavailable, match="lost track of role grant changes"):
            await anext(holder)
        await hub.ready()  # subscriptions go on
        hub.dispatch(StoredChange("insert", 1, None, doc(), NOW))
        assert [e.operation for e in drain(owner)] == ["CREATED"]


@st.composite
def _grant_changes(draw: st.DrawFn, length: int) -> dict[int, list[tuple[str, dict[str, frozenset[str]]]]]:
    """Grants given and taken before some of `length` changes: position -> (user, their grants now)."""
    grants = st.dictionaries(st.sampled_from(PARTIES), st.frozensets(st.sampled_from(ROLES), min_size=1), max_size=3)
    positions = st.integers(0, length)
    return draw(st.dictionaries(positions, st.lists(st.tuples(st.sampled_from(["1", "2"]), grants), max_size=2)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(accesses, instance_filters), min_size=1, max_size=5), _changes(), st.data())
def test_after_grants_given_and_taken_delivery_is_a_fresh_subscriptions(subscriptions, run, data):
    grant_changes = data.draw(_grant_changes(len(run)))

    async def deliveries() -> tuple[list[list[Any]], list[list[Any]]]:
        stored = StoredGrants()
        current = [access for access, _ in subscriptions]  # what a fresh subscription would have
        expected: list[list[Any]] = [[] for _ in subscriptions]
        async with open_hub(queue_size=100) as hub, contextlib.AsyncExitStack() as stack:
            subscribers = [await stack.enter_async_context(subscription(hub, a, f)) for a, f in subscriptions]
            images: dict[int, Any] = {}
            for position, (operation, key, document) in enumerate([*run, ("", 0, None)]):
                for user, grants in grant_changes.get(position, []):
                    stored.grants[user] = grants
                    await regrant(hub, user, stored.read_access)
                    current = [
                        await stored.read_access(a.caller) if a.caller.role_holder == user else a for a in current
                    ]
                if not operation:
                    break
                before, after = images.get(key), None if operation == "delete" else document
                change = StoredChange(operation, key, before, after, NOW)
                images[key] = after
                hub.dispatch(change)
                for n, (_, instance_filter) in enumerate(subscriptions):
                    judged = _judged(current[n], instance_filter, change, before)
                    expected[n] += [judged] if judged else []
            delivered = [[(e.operation, e.instance_id, e.document) for e in drain(s)] for s in subscribers]
        return delivered, expected

    delivered, expected = asyncio.run(deliveries())
    assert delivered == expected
