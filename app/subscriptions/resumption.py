"""Resuming a subscription after a change it was sent: each change comes with a cursor, and a
subscription given one first receives every change after it, read again from the store
(MongoDB's change stream resumed from the change's resume token, or the embedded feed's recent
changes), then the live ones (app/subscriptions/hub.py).

A cursor is the change's position in the store's sequence, signed like a page cursor
(app/store/cursors.py) and bound to the caller and the filter it was sent for: it cannot be
made up, nor used by another caller or with another filter. A replay reads at most `limit`
changes, so that one far-behind subscriber cannot keep the database busy for long.
"""

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.authorization.identity import Caller
from app.errors import BadUserInput, GatewayError
from app.store.change_feed import StoredChange
from app.store.cursors import CursorCodec, InvalidCursor, query_fingerprint

# The changes after a position, from the store: a change stream or the embedded feed.
ChangeReplay = Callable[[Any], AsyncIterator[StoredChange]]


class ReplayTooLong(GatewayError):
    code = "REPLAY_LIMIT_EXCEEDED"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"more than {limit} changes were made after the `after` cursor; "
            "query the instances again, then subscribe without `after`"
        )


@dataclass(frozen=True)
class ChangeCursors:
    """The cursors of the changes sent to one caller for one filter."""

    codec: CursorCodec
    binding: str

    def cursor_of(self, position: Any) -> str:
        return self.codec.encode(self.binding, [position], "")

    def position_of(self, cursor: str) -> Any:
        """The position a cursor names; BAD_USER_INPUT unless it was sent to this caller for
        this filter."""
        try:
            [position], _ = self.codec.decode(cursor, self.binding, 1)
        except InvalidCursor:
            raise BadUserInput(
                "the `after` cursor is not one this gateway sent for this subscription: pass the "
                "`cursor` of a change received by the same caller with the same filter"
            ) from None
        return position


class Resumption:
    def __init__(self, codec: CursorCodec, replay: ChangeReplay, limit: int) -> None:
        self._codec = codec
        self._replay = replay
        self._limit = limit

    def cursors(self, caller: Caller, instance_filter: Mapping[str, Any] | None) -> ChangeCursors:
        who = (caller.org, caller.org_number, caller.user_id, caller.party_id, caller.system_user_id)
        # A subscription has no order: the caller takes its place in the fingerprint.
        return ChangeCursors(self._codec, query_fingerprint(instance_filter, ["subscription", *who]))

    async def replay(self, after: Any) -> AsyncIterator[StoredChange]:
        """The changes after the position `after`, up to the present; CURSOR_EXPIRED when the
        store no longer holds them, REPLAY_LIMIT_EXCEEDED past the limit."""
        read = 0
        async with contextlib.aclosing(self._replay(after)) as changes:
            async for change in changes:
                read += 1
                if read > self._limit:
                    raise ReplayTooLong(self._limit)
                yield change
