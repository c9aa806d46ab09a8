"""Writing whole documents: upserts by id, each document replaced in one operation."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.store.database import Database, Upserts


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
    """Upsert role grants by user and party, then instances by id, then audit events by id."""
    grants_written = await database.replace_by(database.party_roles, ("userId", "partyId"), grants)
    instances_written = await database.replace_by(database.instances, ("id",), instances)
    return Written(
        instances_written, grants_written, await database.replace_by(database.instance_events, ("id",), events)
    )
