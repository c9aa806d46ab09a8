"""Party roles: which role codes a user holds for a party ({userId, partyId, roles})."""

import re
from typing import Any

from app.store.documents import InvalidDocument, SkippedDocument

# Altinn's test data keeps roles at roles/user_{userId}/party_{partyId}/roles.json.
_SYSTEM_USER_ROLES_PATH = re.compile(r"system_[^/\\]+[/\\]party_[^/\\]+[/\\]roles\.json:\d+$")
_ROLES_PATH = re.compile(r"user_(?P<user>[^/\\]+)[/\\]party_(?P<party>[^/\\]+)[/\\]roles\.json:\d+$")


def _role_code(role: Any) -> str:
    if isinstance(role, str) and role.strip():
        return role.strip()
    if isinstance(role, dict) and isinstance(role.get("value"), str):
        return role["value"].strip()
    raise InvalidDocument(f"a role must be a code or {{Type, value}}, got {role!r}")


def _grant(user_id: Any, party_id: Any, roles: Any) -> dict[str, Any]:
    if user_id in (None, "") or party_id in (None, ""):
        raise InvalidDocument("userId and partyId are required")
    if not isinstance(roles, list):
        raise InvalidDocument("roles must be a list of role codes")
    return {
        "userId": str(user_id),
        "partyId": str(party_id),
        "roles": sorted({_role_code(r) for r in roles}),
    }


def normalize_party_roles(raw: Any, source: str) -> list[dict[str, Any]]:
    """Grants from a {userId, partyId, roles} document, or from one {Type, value} entry of
    an Altinn roles.json file, whose user and party are in its path."""
    if isinstance(raw, dict) and "userId" in raw:
        return [_grant(raw.get("userId"), raw.get("partyId"), raw.get("roles"))]
    match = _ROLES_PATH.search(source)
    if match:
        return [_grant(match["user"], match["party"], [raw])]
    if _SYSTEM_USER_ROLES_PATH.search(source):
        raise SkippedDocument("roles of a system user: only users' roles are used")
    raise InvalidDocument("expected {userId, partyId, roles: [...]}")


def merge_grants(grants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One grant per user and party, holding every role given for them."""
    merged: dict[tuple[str, str], set[str]] = {}
    for grant in grants:
        merged.setdefault((grant["userId"], grant["partyId"]), set()).update(grant["roles"])
    return [{"userId": u, "partyId": p, "roles": sorted(r)} for (u, p), r in merged.items()]
