"""The change hub: one per process. It follows the store's changes (MongoDB's change stream,
or the embedded store's own feed) and hands each change to every subscriber that may see it,
as CREATED, UPDATED or DELETED from that subscriber's point of view.

Handing over never waits: each subscriber has a bounded queue, and one that falls too far
behind is told so (`on_overflow`) and dropped, so a slow subscriber never delays the others
and never makes the gateway hold more than its queue.
"""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.errors import ServiceUnavailable
from app.store.change_feed import Document, StoredChange
from app.store.change_stream import ChangeStreamsUnavailable
from app.subscriptions.visibility import Visibility

log = logging.getLogger("instance_gateway")

CREATED, UPDATED, DELETED = "CREATED", "UPDATED", "DELETED"
# The instances a subscriber was last sent, so that without pre-images a change that takes
# one out of its sight still reaches it as DELETED; the oldest are forgotten beyond this.
SIGHT_MEMORY = 10_000

ChangeSource = Callable[[Callable[[], None]], AsyncIterator[StoredChange]]


@dataclass(eq=False)
class ChangeEvent:
    """A change as subscribers see it; one object is shared by all who see it alike."""

    operation: str
    instance_id: str
    document: Document | None  # the instance after the change; None when DELETED
    at: datetime
    # What serving this event to one subscriber computed, for the next one with the same needs.
    memo: dict[Hashable, Any] = field(default_factory=dict)


class Subscriber:
    def __init__(self, visibility: Visibility, queue_size: int, on_overflow: Callable[[str], None]) -> None:
        self.visibility = visibility
        self._queue: asyncio.Queue[ChangeEvent | Exception] = asyncio.Queue(queue_size)
        self._on_overflow = on_overflow
        self._in_sight: OrderedDict[Any, str] = OrderedDict()  # _id -> instance id
        self.dropped: str | None = None

    def __aiter__(self) -> "Subscriber":
        return self

    async def __anext__(self) -> ChangeEvent:
        if self.dropped is not None:
            raise StopAsyncIteration  # on_overflow has told the transport, which closes
        item = await self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item

    def offer(self, change: StoredChange, seen_before: bool | None, seen_after: bool, events: "_Events") -> None:
        """Queue what `change` means to this subscriber; `seen_before` None: not known."""
        if seen_before is None:
            seen_before = change.key in self._in_sight
        if seen_after:
            self._in_sight[change.key] = events.instance_id
            self._in_sight.move_to_end(change.key)
            if len(self._in_sight) > SIGHT_MEMORY:
                self._in_sight.popitem(last=False)
            self._put(events.visible())
        elif seen_before:
            instance_id = self._in_sight.pop(change.key, None) or events.instance_id
            self._put(events.deleted(instance_id))

    def end(self, error: Exception) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(error)

    def _put(self, event: ChangeEvent) -> None:
        if self.dropped is not None:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = f"too slow: {self._queue.maxsize} changes were waiting to be sent"
            self._on_overflow(self.dropped)


class _Events:
    """The (at most two) events one change becomes, made once and only when someone gets one."""

    def __init__(self, change: StoredChange) -> None:
        self._change = change
        document = change.after or change.before or {}
        self.instance_id = str(document.get("id", ""))
        self._visible: ChangeEvent | None = None
        self._deleted: dict[str, ChangeEvent] = {}

    def visible(self) -> ChangeEvent:
        if self._visible is None:
            operation = CREATED if self._change.operation == "insert" else UPDATED
            self._visible = ChangeEvent(operation, self.instance_id, self._change.after, self._change.at)
        return self._visible

    def deleted(self, instance_id: str) -> ChangeEvent:
        if instance_id not in self._deleted:
            self._deleted[instance_id] = ChangeEvent(DELETED, instance_id, None, self._change.at)
        return self._deleted[instance_id]


class ChangeHub:
    def __init__(self, queue_size: int, open_timeout_s: float) -> None:
        self._queue_size = queue_size
        self._open_timeout_s = open_timeout_s
        self._subscribers: set[Subscriber] = set()
        self._visibilities: dict[Hashable, tuple[Visibility, int]] = {}
        self._open = asyncio.Event()
        self.unavailable: str | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def run(self, source: ChangeSource) -> None:
        """Follow `source` until cancelled; hand every change to the subscribers."""
        try:
            async for change in source(self._open.set):
                self.dispatch(change)
        except ChangeStreamsUnavailable as error:
            self.unavailable = (
                "subscriptions need MongoDB change streams, which only a replica set gives "
                "(a single-node replica set will do); this MongoDB is a standalone server"
            )
            log.error("subscriptions are off: %s (%s). Queries and mutations work.", self.unavailable, error)
            for subscriber in list(self._subscribers):
                subscriber.end(ServiceUnavailable(self.unavailable))

    async def ready(self) -> None:
        """Raises SERVICE_UNAVAILABLE unless changes are followed (after a short wait at start)."""
        if self.unavailable is None and not self._open.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._open.wait(), self._open_timeout_s)
        if self.unavailable is not None:
            raise ServiceUnavailable(self.unavailable)
        if not self._open.is_set():
            raise ServiceUnavailable("the database's change stream is not open yet; try again shortly")

    @contextlib.asynccontextmanager
    async def subscribe(
        self, key: Hashable, make_visibility: Callable[[], Visibility], on_overflow: Callable[[str], None]
    ) -> AsyncIterator[Subscriber]:
        """A subscriber to the changes from now on that its visibility lets it see."""
        await self.ready()
        visibility, users = self._visibilities.get(key) or (make_visibility(), 0)
        self._visibilities[key] = (visibility, users + 1)
        subscriber = Subscriber(visibility, self._queue_size, on_overflow)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            visibility, users = self._visibilities[key]
            if users == 1:
                del self._visibilities[key]
            else:
                self._visibilities[key] = (visibility, users - 1)

    def dispatch(self, change: StoredChange) -> None:
        events = _Events(change)
        judged: dict[Visibility, tuple[bool | None, bool]] = {}
        for subscriber in list(self._subscribers):
            visibility = subscriber.visibility
            seen = judged.get(visibility)
            if seen is None:
                seen_before: bool | None = None  # not known: no pre-image
                if change.operation == "insert":
                    seen_before = False
                elif change.before is not None:
                    seen_before = visibility.sees(change.before, change.at)
                seen = judged[visibility] = (seen_before, visibility.sees(change.after, change.at))
            subscriber.offer(change, *seen, events)
