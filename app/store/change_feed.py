"""Changes of instance documents and of role grants as they happen, from either store, in one
shape.

On MongoDB they come from change streams (app/store/change_stream.py); on the embedded
store, which has none, the store's own writes publish them to a `LocalChangeFeed` and a
`LocalGrantFeed`. Each change of an instance has a position in its store's sequence, from which
the changes after it can be read again (`replay`), as long as the store still holds them.
"""

import asyncio
import dataclasses
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.errors import GatewayError
from app.timestamps import utc_now

log = logging.getLogger("instance_gateway")

Document = dict[str, Any]
Operation = Literal["insert", "update", "replace", "delete"]

# Events waiting for the reader of a local feed; a reader this far behind has stalled.
LOCAL_FEED_BACKLOG = 100_000
# The recent changes a local feed keeps to replay; a position older than these is forgotten.
KEPT_CHANGES = 10_000


class PositionForgotten(GatewayError):
    """The store no longer holds the changes after a position (MongoDB's oplog has moved past
    it, the embedded feed has dropped them, or they are another store's)."""

    code = "CURSOR_EXPIRED"

    def __init__(self) -> None:
        super().__init__(
            "the `after` cursor is too old: the changes after it are no longer kept; "
            "query the instances again, then subscribe without `after`"
        )


@dataclass(frozen=True)
class StoredChange:
    """One change of one instance document. `before` is the document before the change when
    the store can tell (None after an insert, or where MongoDB keeps no pre-images), `after`
    the document after it (None once deleted)."""

    operation: Operation
    key: Any  # the document's _id: the only thing a delete without a pre-image names
    before: Document | None
    after: Document | None
    at: datetime
    # Where the change is in its store's sequence: MongoDB's resume token of its change event,
    # the embedded feed's "<feed>:<number>". Replaying from it gives the changes after it.
    position: Any = None


class LocalChangeFeed:
    """The embedded store's change feed: writes publish, one reader (the gateway's change
    hub) follows. Publishing never waits, so a write is never held up by its readers.

    A change that records an audit event is held until the event is recorded (`hold`, then
    `release`), as MongoDB's change stream does it (app/store/change_stream.py): a subscriber
    who selects `events` then finds it."""

    def __init__(self) -> None:
        self._readers: list[asyncio.Queue[StoredChange]] = []
        self._held: dict[Any, Document] = {}  # _id -> the document before the held change
        # Positions name this feed, so that one of another process is known as forgotten.
        self._name = secrets.token_hex(4)
        self._published = 0
        self._recent: deque[StoredChange] = deque(maxlen=KEPT_CHANGES)

    def hold(self, before: Document) -> None:
        self._held.setdefault(before["_id"], before)

    def release(self, after: Document) -> None:
        before = self._held.pop(after["_id"], None)
        self.publish(StoredChange("update", after["_id"], before, after, utc_now()))

    def publish(self, change: StoredChange) -> None:
        self._published += 1
        change = dataclasses.replace(change, position=f"{self._name}:{self._published}")
        self._recent.append(change)
        for queue in self._readers:
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                log.error("a change feed reader is %d changes behind; it misses one", LOCAL_FEED_BACKLOG)

    async def follow(self, on_open: Callable[[], None]) -> AsyncIterator[StoredChange]:
        """The changes published from now on (`on_open` is called then), until the reader stops."""
        queue: asyncio.Queue[StoredChange] = asyncio.Queue(LOCAL_FEED_BACKLOG)
        self._readers.append(queue)
        on_open()
        try:
            while True:
                yield await queue.get()
        finally:
            self._readers.remove(queue)

    async def replay(self, after: Any) -> AsyncIterator[StoredChange]:
        """The changes published after the one at `after`, up to now; PositionForgotten when
        they are no longer all kept."""
        name, _, number = str(after).partition(":")
        oldest = self._published - len(self._recent)  # the last number no longer kept
        if name != self._name or not number.isdigit() or not oldest <= int(number) <= self._published:
            raise PositionForgotten
        for change in list(self._recent)[int(number) - oldest :]:
            yield change


class LocalGrantFeed:
    """The embedded store's feed of role grants: whose grants a write changed. A reader is told
    of each user once however many of their grants changed before it looked, so the feed holds
    at most one entry per user and never misses one: a missed revocation would let a subscriber
    go on seeing what it no longer may."""

    def __init__(self) -> None:
        self._readers: list[_GrantReader] = []

    def publish(self, user_id: str) -> None:
        for reader in self._readers:
            reader.changed.add(user_id)
            reader.woken.set()

    async def follow(self, on_open: Callable[[], None]) -> AsyncIterator[str]:
        """The users whose grants change from now on (`on_open` is called then), until the reader stops."""
        reader = _GrantReader()
        self._readers.append(reader)
        on_open()
        try:
            while True:
                await reader.woken.wait()
                reader.woken.clear()
                while reader.changed:
                    yield reader.changed.pop()
        finally:
            self._readers.remove(reader)


@dataclass(eq=False)
class _GrantReader:
    changed: set[str] = field(default_factory=set)
    woken: asyncio.Event = field(default_factory=asyncio.Event)
