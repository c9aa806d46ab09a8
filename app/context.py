"""What every request of either edge may read: the caller, the store, and in one place what
the caller may see (`read_restriction`) and do (`actions`)."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Strawberry's DataLoader is a plain asyncio batching loader: nothing of GraphQL comes with it.
from strawberry.dataloader import DataLoader

from app.actions import InstanceActions
from app.authorization.access import OWN_PARTY_ROLE, Access
from app.authorization.identity import Caller
from app.authorization.policy_repository import PolicyRepository
from app.config import Settings
from app.request_record import RequestRecord
from app.store.changes import InstanceChanges
from app.store.instances import InstanceStore
from app.store.party_roles import PartyRoles
from app.subscriptions.hub import ChangeHub
from app.timestamps import utc_now


@dataclass
class Context:
    settings: Settings
    caller: Caller
    store: InstanceStore
    changes: InstanceChanges
    party_roles: PartyRoles
    policies: PolicyRepository
    record: RequestRecord  # what the request log and metrics report of it
    live: ChangeHub | None = None  # subscriptions' changes; None where they are not served
    # Over a WebSocket: called when a subscriber falls too far behind, with the reason.
    subscriber_overflow: Callable[[str], None] | None = None
    now: datetime = field(default_factory=utc_now)
    _access: Access | None = None
    _read_restriction: dict[str, Any] | None = None
    events: DataLoader[str, list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        async def load_events(instance_ids: list[str]) -> list[list[dict[str, Any]]]:
            trail = await self.changes.events_of(instance_ids)
            return [trail[i] for i in instance_ids]

        self.events = DataLoader(load_fn=load_events)

    def for_event(self) -> "Context":
        """The context of one subscription event: the same caller and access, this moment's
        clock and fresh loaders, as the audit trail may have grown since the last one."""
        return dataclasses.replace(self, now=utc_now(), _read_restriction=None)

    async def access(self) -> Access:
        if self._access is None:
            self._access = await access_of(self.caller, self.party_roles, self.policies)
        return self._access

    async def read_restriction(self) -> dict[str, Any]:
        """The filter every read is narrowed by."""
        if self._read_restriction is None:
            # Pages, counts and nested fields of one request share it: decide it once.
            self._read_restriction = (await self.access()).read_restriction(self.now)
        return self._read_restriction

    async def list_restriction(self) -> dict[str, Any]:
        """The filter a list of instances is narrowed by; FORBIDDEN for a service owner
        without the read scope."""
        (await self.access()).check_listing()
        return await self.read_restriction()

    async def actions(self) -> InstanceActions:
        return InstanceActions(await self.access(), self.store, self.changes, self.now)


async def access_of(caller: Caller, party_roles: PartyRoles, policies: PolicyRepository) -> Access:
    """The caller's access with their grants as stored now; a subscriber's is decided again with
    it when their grants change (app/subscriptions/grants.py)."""
    roles: dict[str, frozenset[str]] = {}
    if caller.role_holder:
        roles = await party_roles.roles_of(caller.role_holder)
    if caller.party_id:
        roles[caller.party_id] = roles.get(caller.party_id, frozenset()) | {OWN_PARTY_ROLE}
    return Access(caller=caller, roles_by_party=roles, policies=policies)
