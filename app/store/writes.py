"""Writing whole documents: upserts by id, each document replaced in one operation."""

from collections.abc import Sequence
from typing import Any

from app.store.database import Database


async def write_all(database: Database, instances: Sequence[dict[str, Any]], grants: Sequence[dict[str, Any]]) -> int:
    """Upsert role grants by user and party, then instances by id; returns how many
    instances were written."""
    await database.replace_by(database.party_roles, ("userId", "partyId"), grants)
    await database.replace_by(database.instances, ("id",), instances)
    return len(instances)
