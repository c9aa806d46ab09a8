"""The change hub: one per process. It follows the store's changes (MongoDB's change stream,
or the embedded store's own feed) and hands each change to every subscriber that may see it,
as CREATED, UPDATED or DELETED from that subscriber's point of view.

Subscribers who share a visibility form one audience, judged once per change. Audiences are
filed under the orgs, apps and parties their visibility can ever see (its reach), so a change
costs what the audiences its own org, app and party (before and after it) name cost, however
many others listen; only audiences that name none are judged for every change. Audiences are
also filed under the user whose grants decide their visibility, so that a change of that
user's grants re-files theirs alone (`audiences_of`, `refile`: app/subscriptions/grants.py).

Handing over never waits: each subscriber has a bounded queue, and one that falls too far
behind is told so (`on_overflow`) and dropped, so a slow subscriber never delays the others
and never makes the gateway hold more than its queue.

A subscriber that resumes after a change it was sent is first given the changes since, read
again from the store in its own task (app/subscriptions/resumption.py), then the live ones.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.errors import ServiceUnavailable
from app.lru import LRU
from app.store.change_feed import Document, StoredChange
from app.store.change_stream import ChangesLost, ChangeStreamsUnavailable
from app.subscriptions.reach import Key, keys_of
from app.subscriptions.resumption import Resumption
from app.subscriptions.visibility import Visibility

log = logging.getLogger("instance_gateway")

CREATED, UPDATED, DELETED = "CREATED", "UPDATED", "DELETED"
# Where the store gives no pre-images: the last image of this many changed instances, so that
# a change that takes one out of a subscriber's sight still reaches it as DELETED.
LAST_IMAGES = 10_000

ChangeSource = Callable[[Callable[[], None]], AsyncIterator[StoredChange]]
CHANGES_LOST = (
    "the gateway lost track of the database's changes for longer than the database keeps them; "
    "query again, then subscribe again (a cursor of before is expired)"
)
STANDALONE = (
    "subscriptions need MongoDB change streams, which only a replica set gives "
    "(a single-node replica set will do); this MongoDB is a standalone server"
)


@dataclass(eq=False)
class ChangeEvent:
    """A change as subscribers see it; one object is shared by all who see it alike."""

    operation: str
    instance_id: str
    document: Document | None  # the instance after the change; None when DELETED
    at: datetime
    position: Any  # the change's position in the store's sequence (StoredChange.position)
    # What serving this event to one subscriber computed, for the next one with the same needs.
    memo: dict[Hashable, Any] = field(default_factory=dict)


class Subscriber:
    def __init__(self, queue_size: int, on_overflow: Callable[[str], None]) -> None:
        self._queue: asyncio.Queue[ChangeEvent | Exception] = asyncio.Queue(queue_size)
        self._on_overflow = on_overflow
        self.dropped: str | None = None
        self.audience: _Audience | None = None  # the hub's: whom it is judged with

    def __aiter__(self) -> "Subscriber":
        return self

    async def __anext__(self) -> ChangeEvent:
        if self.dropped is not None:
            raise StopAsyncIteration  # on_overflow has told the transport, which closes
        item = await self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item

    def end(self, error: Exception) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(error)

    def put(self, event: ChangeEvent) -> None:
        if self.dropped is not None:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = f"too slow: {self._queue.maxsize} changes were waiting to be sent"
            self._on_overflow(self.dropped)


class _Audience:
    """The subscribers who share one visibility: a change is judged once for all of them."""

    def __init__(self, key: Hashable, visibility: Visibility) -> None:
        self.key = key
        self.visibility = visibility
        self.subscribers: set[Subscriber] = set()

    def take(self, subscribers: set[Subscriber]) -> None:
        self.subscribers |= subscribers
        for subscriber in subscribers:
            subscriber.audience = self


class _Events:
    """The (at most two) events one change becomes, made once and only when someone gets one."""

    def __init__(self, change: StoredChange, before: Document | None) -> None:
        self._change = change
        self._before = before
        document = change.after or before or {}
        self.instance_id = str(document.get("id", ""))
        self._visible: ChangeEvent | None = None
        self._deleted: ChangeEvent | None = None

    def visible(self) -> ChangeEvent:
        if self._visible is None:
            operation = CREATED if self._change.operation == "insert" else UPDATED
            self._visible = ChangeEvent(
                operation, self.instance_id, self._change.after, self._change.at, self._change.position
            )
        return self._visible

    def seen_by(self, visibility: Visibility) -> ChangeEvent | None:
        """The event this subscriber gets: the change if it sees the instance after it, a
        deletion if it saw it before (and not after), else none."""
        if visibility.sees(self._change.after, self._change.at):
            return self.visible()
        if self._before is not None and visibility.sees(self._before, self._change.at):
            return self.deleted()
        return None

    def deleted(self) -> ChangeEvent:
        if self._deleted is None:
            self._deleted = ChangeEvent(DELETED, self.instance_id, None, self._change.at, self._change.position)
        return self._deleted


class _LastImages:
    """Pre-images for a store that gives none: the document after each change, from the first
    change that came without one on (MongoDB before 6.0, or without the collMod privilege). A
    change of an instance not seen since has no known pre-image: it reaches no one as DELETED."""

    def __init__(self) -> None:
        self._images: LRU | None = None  # _id -> the last image

    def before(self, change: StoredChange) -> Document | None:
        if change.operation == "insert" or change.before is not None:
            return change.before
        if self._images is None:
            self._images = LRU(LAST_IMAGES)
        return self._images.get(change.key)

    def remember(self, change: StoredChange) -> None:
        if self._images is None:
            return
        if change.after is None:
            self._images.pop(change.key)
        else:
            self._images.put(change.key, change.after)


class ChangeHub:
    def __init__(self, queue_size: int, open_timeout_s: float, resumption: Resumption) -> None:
        self._queue_size = queue_size
        self.resumption = resumption
        self._open_timeout_s = open_timeout_s
        self._audiences: dict[Hashable, _Audience] = {}  # by visibility key
        # Audiences by each key of their reach: a change is judged only for those its keys name,
        # and for those whose reach is unbounded.
        self._reached_by: dict[Key, set[_Audience]] = {}
        self._unbounded: set[_Audience] = set()
        self._by_role_holder: dict[str, set[_Audience]] = {}
        self._last_images = _LastImages()
        self._open = asyncio.Event()
        self.unavailable: str | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(audience.subscribers) for audience in self._audiences.values())

    @property
    def unbounded_subscriber_count(self) -> int:
        """Subscribers every change is judged for: their visibility names no org, app or party."""
        return sum(len(audience.subscribers) for audience in self._unbounded)

    async def run(self, source: ChangeSource) -> None:
        """Follow `source` until cancelled; hand every change to the subscribers. Where changes
        were lost, every subscription ends (its subscriber missed them, unsaid otherwise) and
        following starts again from now on."""
        while True:
            try:
                async for change in source(self._open.set):
                    self.dispatch(change)
                return
            except ChangeStreamsUnavailable as error:
                self.close(STANDALONE, error)
                return
            except ChangesLost as error:
                log.error("subscriptions end: %s", error)
                self._open.clear()
                self._last_images = _LastImages()  # images of before the gap: stale
                self.end_all(ServiceUnavailable(CHANGES_LOST))

    def close(self, reason: str, error: Exception) -> None:
        """End every subscription with SERVICE_UNAVAILABLE and refuse new ones, for `reason`."""
        self.unavailable = reason
        log.error("subscriptions are off: %s (%s). Queries and mutations work.", reason, error)
        self.end_all(ServiceUnavailable(reason))

    def end_all(self, error: Exception, role_holders_only: bool = False) -> None:
        """End every subscription (or only those whose role grants decide what they see) with `error`."""
        audiences = self.audiences_of(None) if role_holders_only else list(self._audiences.values())
        for subscriber in [s for audience in audiences for s in audience.subscribers]:
            subscriber.end(error)

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
        self,
        key: Hashable,
        make_visibility: Callable[[], Visibility],
        on_overflow: Callable[[str], None],
        after: Any = None,
    ) -> AsyncIterator[AsyncIterator[ChangeEvent]]:
        """The changes from now on that its visibility lets a subscriber see; given the
        position of a change (`after`), those since that change first."""
        await self.ready()
        audience = self._audiences.get(key) or self._file(key, _Audience(key, make_visibility()))
        subscriber = Subscriber(self._queue_size, on_overflow)
        audience.take({subscriber})
        try:
            # A visibility of its own for the replay, whose changes are of other times.
            yield subscriber if after is None else self._resumed(subscriber, after, make_visibility())
        finally:
            audience = subscriber.audience  # another since, if its caller's grants changed
            assert audience is not None
            audience.subscribers.discard(subscriber)
            if not audience.subscribers:
                self._unfile(audience.key, audience)

    def audiences_of(self, role_holder: str | None) -> list[_Audience]:
        """The audiences whose visibility this user's grants decide; None: any user's."""
        if role_holder is None:
            return [audience for audiences in self._by_role_holder.values() for audience in audiences]
        return list(self._by_role_holder.get(role_holder, ()))

    def refile(self, audience: _Audience, key: Hashable, visibility: Visibility) -> None:
        """`audience`'s subscribers see as `visibility` from the next change on, with those
        who already do (their caller's grants changed: `key` is of the grants as they are now)."""
        if self._audiences.get(audience.key) is not audience or key == audience.key:
            return  # all left while the grants were read, or the grants came out the same
        self._unfile(audience.key, audience)
        (self._audiences.get(key) or self._file(key, _Audience(key, visibility))).take(audience.subscribers)

    def dispatch(self, change: StoredChange) -> None:
        before = self._last_images.before(change)
        self._last_images.remember(change)
        events = _Events(change, before)
        for audience in self._concerned(keys_of(before) | keys_of(change.after)):
            event = events.seen_by(audience.visibility)
            for subscriber in list(audience.subscribers) if event is not None else ():
                subscriber.put(event)

    async def _resumed(self, live: Subscriber, after: Any, visibility: Visibility) -> AsyncIterator[ChangeEvent]:
        """The changes after `after`, read again from the store, then the live ones. The
        subscriber joined before the replay began, so no change falls between the two; a
        change both gave (the replay read it before the hub handed it over) comes once."""
        replayed: set[Any] = set()
        async with contextlib.aclosing(self.resumption.replay(after)) as changes:
            async for change in changes:
                replayed.add(change.position)
                event = _Events(change, change.before).seen_by(visibility)
                if event is not None:
                    yield event
        async for event in live:
            # Both follow the store's order: once a live change is past the replay, all are.
            if event.position in replayed:
                continue
            replayed.clear()
            yield event

    def _concerned(self, keys: set[Key]) -> set[_Audience]:
        concerned = set(self._unbounded)
        for key in keys:
            concerned |= self._reached_by.get(key, set())
        return concerned

    def _file(self, key: Hashable, audience: _Audience) -> _Audience:
        self._audiences[key] = audience
        if audience.visibility.role_holder is not None:
            self._by_role_holder.setdefault(audience.visibility.role_holder, set()).add(audience)
        reach = audience.visibility.reach
        if reach is None:
            self._unbounded.add(audience)
        for reach_key in reach or ():
            self._reached_by.setdefault(reach_key, set()).add(audience)
        return audience

    def _unfile(self, key: Hashable, audience: _Audience) -> None:
        del self._audiences[key]
        if audience.visibility.role_holder is not None:
            held = self._by_role_holder[audience.visibility.role_holder]
            held.discard(audience)
            if not held:
                del self._by_role_holder[audience.visibility.role_holder]
        self._unbounded.discard(audience)
        for reach_key in audience.visibility.reach or ():
            filed = self._reached_by[reach_key]
            filed.discard(audience)
            if not filed:
                del self._reached_by[reach_key]
