"""The change hub's decisions, directly: who gets what of a change, and the slow-consumer limit."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.errors import ServiceUnavailable
from app.store.change_feed import StoredChange
from app.store.change_stream import ChangeStreamsUnavailable
from app.subscriptions.hub import ChangeEvent, ChangeHub

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Sees:
    """A visibility that sees documents of one app, counting how often it is asked."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.reach = frozenset({("appId", app_id)})
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
    hub = ChangeHub(queue_size, open_timeout_s=1)

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
    hub = ChangeHub(10, open_timeout_s=1)

    async def standalone(on_open):
        raise ChangeStreamsUnavailable("The $changeStream stage is only supported on replica sets")
        yield

    await hub.run(standalone)
    with pytest.raises(ServiceUnavailable, match="replica set"):
        await hub.ready()
