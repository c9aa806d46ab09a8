"""What a caller may see and do, decided in one place.

Reads: `read_restriction` is a filter (in the InstanceFilter language the store compiles)
that every read is narrowed by, so pages are full and counts exact. Changes: `check` decides
one action on one instance with the app's policy, and raises FORBIDDEN with the reason.
Scopes count where Altinn Storage counts them: a service owner lists instances (and sees all
of its own org's) with the read scope only; the sync adapter's scope lets its holder read
everything and bypasses the policy for reading, writing and deleting, as in Altinn.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.authorization.identity import SERVICE_OWNER_READ, Caller
from app.authorization.policy import (
    PermittedStates,
    PolicyError,
    ResourceState,
    Subject,
    is_permitted,
    permitted_states,
)
from app.authorization.policy_repository import PolicyRepository
from app.errors import Forbidden

log = logging.getLogger("instance_gateway")

Filter = dict[str, Any]
OWN_PARTY_ROLE = "PRIV"
# The policy actions Altinn lets the sync adapter's scope stand in for (StorageAccessHandler).
SYNC_ADAPTER_ACTIONS = frozenset({"read", "write", "delete"})


@dataclass(frozen=True)
class Access:
    caller: Caller
    roles_by_party: Mapping[str, frozenset[str]]  # the caller's roles per party, PRIV included
    policies: PolicyRepository

    def check_listing(self) -> None:
        """FORBIDDEN for a service owner who lists instances without the read scope (or the
        sync adapter's); end users and system users list without any, as in Altinn."""
        caller = self.caller
        if caller.is_service_owner and not (caller.has_scope(SERVICE_OWNER_READ) or caller.is_sync_adapter):
            raise Forbidden(f"a service owner lists instances only with the scope {SERVICE_OWNER_READ}")

    def may_read_app(self, app_id: str) -> bool:
        """Whether the app's policy lets this caller read its instances in some state (Altinn's
        decision for a service owner listing another org's app)."""
        return any(c["appId"]["eq"] == app_id for c in self._permitted_apps("read", frozenset()))

    def read_restriction(self, now: datetime, *, hide_invisible: bool = True) -> Filter:
        """The instances this caller may read, as a filter. `hide_invisible`: end users do not
        see an instance before its visibleAfter (Altinn's REST list shows them: False there)."""
        if self.caller.is_sync_adapter:
            return {}
        if self.caller.is_service_owner:
            if not self.caller.has_scope(SERVICE_OWNER_READ):
                return {"or": self._permitted_apps("read", frozenset())}
            alternatives = [{"org": {"eq": self.caller.org}}]
            alternatives += self._permitted_apps("read", frozenset(), exclude_org=self.caller.org)
            return {"or": alternatives}
        alternatives = []
        for roles, parties in _parties_by_roles(self.roles_by_party).items():
            for app_condition in self._permitted_apps("read", roles):
                alternatives.append({"instanceOwner": {"partyId": {"in": parties}}, **app_condition})
        restriction: Filter = {"status": {"isHardDeleted": False}, "or": alternatives}
        if hide_invisible:
            restriction["and"] = [{"or": [{"visibleAfter": {"exists": False}}, {"visibleAfter": {"lte": now}}]}]
        return restriction

    def element_filter(self, element_filter: Mapping[str, Any] | None) -> Filter | None:
        """A data element condition narrowed to the elements this caller may see: end users
        never see hard-deleted data elements."""
        if _sees_deleted_elements(self.caller):
            return dict(element_filter) if element_filter else None
        return {**(element_filter or {}), "isHardDeleted": False}

    def instance_filter(self, instance_filter: Mapping[str, Any] | None) -> Filter | None:
        """The caller's instance filter with every data element condition narrowed, however
        deeply nested, so a hidden data element can never make an instance match."""
        if instance_filter is None or _sees_deleted_elements(self.caller):
            return dict(instance_filter) if instance_filter else None
        narrowed = dict(instance_filter)
        if narrowed.get("data") is not None:
            narrowed["data"] = self.element_filter(narrowed["data"])
        for combinator in ("and", "or"):
            if narrowed.get(combinator) is not None:
                narrowed[combinator] = [self.instance_filter(f) or {} for f in narrowed[combinator]]
        if narrowed.get("not") is not None:
            narrowed["not"] = self.instance_filter(narrowed["not"]) or {}
        return narrowed

    def check(self, action: str, instance: Mapping[str, Any], *, doing: str | None = None) -> None:
        """Raise FORBIDDEN unless the app's policy permits `action` on this instance; `doing`
        names what the caller asked for where the policy's action is another (a restore needs `delete`)."""
        if self.caller.is_sync_adapter and action in SYNC_ADAPTER_ACTIONS:
            return
        app_id = str(instance.get("appId", ""))
        try:
            policy = self.policies.policy(app_id)
        except PolicyError as error:
            raise Forbidden(f"denied: the policy of {app_id} cannot be used ({error})") from None
        if policy is None:
            raise Forbidden(f"denied: {app_id} has no authorization policy in this gateway")
        org, _, app = app_id.partition("/")
        state = resource_state(org, app, instance)
        if not is_permitted(policy, self._subject(instance), state, action):
            needs = "" if doing is None else f": it needs `{action}`"
            raise Forbidden(
                f"{self._who()} may not {doing or action} instances of {app_id} {_describe(state)} (its policy{needs})"
            )

    def check_owning_org(self, instance: Mapping[str, Any]) -> None:
        """Only the app owner itself may do this (e.g. set a substatus)."""
        if not self.caller.is_service_owner or str(instance.get("org", "")).lower() != self.caller.org:
            raise Forbidden(f"only the app owner {instance.get('org')} may do this; the caller is {self._who()}")

    def _subject(self, instance: Mapping[str, Any]) -> Subject:
        party_id = str((instance.get("instanceOwner") or {}).get("partyId", ""))
        roles = frozenset() if self.caller.is_service_owner else self.roles_by_party.get(party_id, frozenset())
        return Subject(org=self.caller.org, role_codes=roles, auth_level=self.caller.auth_level)

    def _who(self) -> str:
        if self.caller.is_service_owner:
            return f"service owner {self.caller.org}"
        who = f"user {self.caller.user_id}" if self.caller.user_id else f"system user {self.caller.system_user_id}"
        return f"{who} (auth level {self.caller.auth_level})"

    def _permitted_apps(self, action: str, roles: frozenset[str], exclude_org: str | None = None) -> list[Filter]:
        subject = Subject(org=self.caller.org, role_codes=roles, auth_level=self.caller.auth_level)
        conditions = []
        for app_id in self.policies.app_ids:
            org, _, app = app_id.partition("/")
            if org == exclude_org:
                continue
            try:
                policy = self.policies.policy(app_id)
            except PolicyError as error:
                log.warning("denying %s on %s: %s", action, app_id, error)
                continue
            if policy is None:
                continue
            states = permitted_states(policy, subject, org, app, action)
            if not states.is_empty:
                conditions.append({"appId": {"eq": app_id}, **_state_condition(states)})
        return conditions


def check_audit_trail(caller: Caller, *, instance_id: str, org: str) -> None:
    """An instance's audit trail is its app owner's only: FORBIDDEN for anyone else."""
    if not caller.is_service_owner or caller.org != org.lower():
        raise Forbidden(f"the audit trail of {instance_id} is shown to its app owner {org} only")


def instance_view(caller: Caller) -> tuple[str | None, ...]:
    """All of the caller that what an instance it may read shows depends on: its audit trail
    is its app owner's only (check_audit_trail), and end users never see hard-deleted data
    elements (Access.element_filter). Callers with the same view are shown any instance alike,
    which lets one execution of a subscription event serve them all; a field that shows
    callers more or less must be decided here too (tests/test_subscriptions.py checks)."""
    if caller.is_service_owner:
        return ("service owner", caller.org)
    return ("sync adapter",) if caller.is_sync_adapter else ("end user",)


def _sees_deleted_elements(caller: Caller) -> bool:
    return caller.is_service_owner or caller.is_sync_adapter


def resource_state(org: str, app: str, instance: Mapping[str, Any]) -> ResourceState:
    process = instance.get("process") or {}
    task = (process.get("currentTask") or {}).get("elementId")
    end_event = process.get("endEvent") if process.get("ended") else None
    return ResourceState(org=org, app=app, task=task or None, end_event=end_event or None)


def _describe(state: ResourceState) -> str:
    if state.task:
        return f"in task {state.task}"
    return f"after end event {state.end_event}" if state.end_event else "before its process starts"


def _state_condition(states: PermittedStates) -> Filter:
    """The filter form of PermittedStates: where `currentTask` is the current task's id and
    an end event counts only once the process has no current task."""
    if states.is_unrestricted:
        return {}
    if states.any_state:
        exceptions = []
        if states.except_tasks:
            exceptions.append({"process": {"currentTask": {"in": sorted(states.except_tasks)}}})
        if states.except_end_events:
            exceptions.append(_ended_at(states.except_end_events))
        return {"and": [{"not": e} for e in exceptions]}
    alternatives = []
    if states.tasks:
        alternatives.append({"process": {"currentTask": {"in": sorted(states.tasks)}}})
    if states.end_events:
        alternatives.append(_ended_at(states.end_events))
    return {"or": alternatives}


def _ended_at(end_events: frozenset[str]) -> Filter:
    return {"process": {"currentTask": {"exists": False}, "isComplete": True, "endEvent": {"in": sorted(end_events)}}}


def _parties_by_roles(roles_by_party: Mapping[str, frozenset[str]]) -> dict[frozenset[str], list[str]]:
    grouped: dict[frozenset[str], list[str]] = {}
    for party, roles in sorted(roles_by_party.items()):
        grouped.setdefault(roles, []).append(party)
    return grouped
