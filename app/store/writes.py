"""Writing whole documents: upserts by shard key, each document replaced in one operation."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.store.database import Database, Upserts
from app.store.shard_key import INSTANCE_SHARD_KEY


@dataclass(frozen=True)
class Written:
    instances: Upserts
    grants: Upserts


async def write_all(
    database: Database, instances: Sequence[dict[str, Any]], grants: Sequence[dict[str, Any]]
) -> Written:
    """Upsert role grants by user and party, then instances by their shard key (owner's party
    and id): a sharded cluster refuses an upsert that does not name the whole key."""
    grants_written = await database.replace_by(database.party_roles, ("userId", "partyId"), grants)
    instance_key = tuple(field for field, _ in INSTANCE_SHARD_KEY)
    return Written(await database.replace_by(database.instances, instance_key, instances), grants_written)
