"""Writing whole documents: upserts by shard key, each document replaced in one operation."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.store.database import Database, Upserts
from app.store.shard_key import EVENT_SHARD_KEY, INSTANCE_SHARD_KEY


@dataclass(frozen=True)
class Written:
    instances: Upserts
    grants: Upserts
    events: Upserts


async def write_all(
    database: Database,
    instances: Sequence[dict[str, Any]],
    grants: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]] = (),
) -> Written:
    """Upsert role grants by user and party, then instances by their shard key (owner's party
    and id), then audit events by theirs (instance and id): a sharded cluster refuses an upsert
    that does not name the whole key."""
    grants_written = await database.replace_by(database.party_roles, ("userId", "partyId"), grants)
    instances_written = await database.replace_by(database.instances, _fields(INSTANCE_SHARD_KEY), instances)
    events_written = await database.replace_by(database.instance_events, _fields(EVENT_SHARD_KEY), events)
    return Written(instances_written, grants_written, events_written)


def _fields(key: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    return tuple(field for field, _ in key)
