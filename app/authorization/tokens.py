"""Development tokens: HS256 JWTs with Altinn's claim names, for local use and tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from app.authorization.identity import (
    ALTINN_SCOPE_CLAIM,
    AUTH_LEVEL_CLAIM,
    AUTHORIZATION_DETAILS_CLAIM,
    MAX_AUTH_LEVEL,
    MIN_AUTH_LEVEL,
    MIN_HS256_SECRET_BYTES,
    ORG_CLAIM,
    ORG_NUMBER_CLAIM,
    PARTY_ID_CLAIM,
    SCOPE_CLAIM,
    SERVICE_OWNER_READ,
    SERVICE_OWNER_WRITE,
    SYNC_ADAPTER,
    SYSTEM_USER_ORG_AUTHORITY,
    SYSTEM_USER_TYPE,
    USER_ID_CLAIM,
)

# Used only by the embedded (in-memory) mode when no secret is configured; anyone can read it here.
DEVELOPMENT_SECRET = "instance-gateway-development-secret-do-not-use-in-production"

SERVICE_OWNER_DEFAULT_SCOPES = (SERVICE_OWNER_READ, SERVICE_OWNER_WRITE)
# What Altinn's portal gives a logged-in person; the gateway asks an end user for no scope.
END_USER_DEFAULT_SCOPES = ("altinn:portal/enduser",)
# The ISO 6523 code of Norwegian organisation numbers, as a system user's owner is named.
NORWEGIAN_ORG_NUMBER_SCHEME = "0192"


def mint_token(
    *,
    secret: str,
    org: str | None = None,
    org_number: str | None = None,
    user_id: str | None = None,
    party_id: str | None = None,
    system_user_id: str | None = None,
    system_user_org_number: str | None = None,
    scopes: Iterable[str] | None = None,
    sync_adapter: bool = False,
    scope_claim: str = SCOPE_CLAIM,
    auth_level: int = 3,
    ttl_seconds: int = 3600,
    now: datetime | None = None,
) -> str:
    """Mint an HS256 token for a service owner (`org`), an end user (`user_id` + `party_id`) or
    a system user (`system_user_id` + `system_user_org_number`, its owner), as Altinn writes them.

    Without `scopes` a service owner gets both serviceowner scopes, an end user Altinn's portal
    scope and a system user none; `sync_adapter` adds the sync adapter's scope. The scopes go in
    `scope_claim` (`scope`, or `urn:altinn:scope` as in a token exchanged from Maskinporten).
    `now` (default: the current time) sets `iat`; `exp` is `ttl_seconds` later.
    """
    if sum(who is not None for who in (org, user_id, system_user_id)) != 1:
        raise ValueError(
            "give exactly one of org (a service owner), user_id (an end user) and system_user_id (a system user)"
        )
    if party_id is not None and user_id is None:
        raise ValueError("party_id belongs to an end user token")
    if user_id is not None and party_id is None:
        raise ValueError("an end user token needs the party_id the user acts for")
    if org_number is not None and org is None:
        raise ValueError("org_number belongs to a service owner token")
    if (system_user_id is None) != (system_user_org_number is None):
        raise ValueError("a system user token needs system_user_id and system_user_org_number, the owner")
    if scope_claim not in (SCOPE_CLAIM, ALTINN_SCOPE_CLAIM):
        raise ValueError(f"scopes go in {SCOPE_CLAIM} or {ALTINN_SCOPE_CLAIM}")
    if not MIN_AUTH_LEVEL <= auth_level <= MAX_AUTH_LEVEL:
        raise ValueError(f"auth_level must be between {MIN_AUTH_LEVEL} and {MAX_AUTH_LEVEL}")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ValueError(f"the HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes")

    if scopes is None:
        scopes = SERVICE_OWNER_DEFAULT_SCOPES if org else END_USER_DEFAULT_SCOPES if user_id else ()
    scopes = [*scopes, *([SYNC_ADAPTER] if sync_adapter else [])]
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        AUTH_LEVEL_CLAIM: auth_level,
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=ttl_seconds),
    }
    if scopes:
        claims[scope_claim] = " ".join(scopes)
    if org is not None:
        claims[ORG_CLAIM] = org.lower()
        if org_number is not None:
            claims[ORG_NUMBER_CLAIM] = org_number
    elif user_id is not None:
        claims[USER_ID_CLAIM] = str(user_id)
        claims[PARTY_ID_CLAIM] = str(party_id)
    else:
        claims[AUTHORIZATION_DETAILS_CLAIM] = {
            "type": SYSTEM_USER_TYPE,
            "systemuser_id": [system_user_id],
            "systemuser_org": {
                "authority": SYSTEM_USER_ORG_AUTHORITY,
                "ID": f"{NORWEGIAN_ORG_NUMBER_SCHEME}:{system_user_org_number}",
            },
            "system_id": "instance-gateway",
        }
    return jwt.encode(claims, secret, algorithm="HS256")
