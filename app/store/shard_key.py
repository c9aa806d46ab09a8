"""The shard keys: instances by their owner's party, then their id; audit events by their
instance, then their own id.

An instance's id is `{instanceOwner.partyId}/{guid}`, and loading stores no other: it refuses
an id whose prefix is not the owner's party, and stores the party id as that text. So the key
of one instance follows from its id alone, with no read first, and every command on one
instance names both: a sharded cluster sends it to the one shard that holds the instance.
"""

from pymongo import ASCENDING

PARTY = "instanceOwner.partyId"
INSTANCE_SHARD_KEY = ((PARTY, ASCENDING), ("id", ASCENDING))
EVENT_SHARD_KEY = (("instanceId", ASCENDING), ("id", ASCENDING))


def instance_key(instance_id: str) -> dict[str, str]:
    """The equalities that find the instance with this id, on its shard alone. An id with no
    party (no `/`) stands for its own party here: no stored id lacks one, so it finds nothing,
    as an unknown id does."""
    return {PARTY: instance_id.partition("/")[0], "id": instance_id}


def event_key(instance_id: str, event_id: str) -> dict[str, str]:
    """The equalities that find one audit event of this instance, on its shard alone."""
    return {"instanceId": instance_id, "id": event_id}
