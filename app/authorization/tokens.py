"""Development tokens: HS256 JWTs with Altinn's claim names, for local use and tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from app.authorization.identity import (
    AUTH_LEVEL_CLAIM,
    END_USER_READ,
    END_USER_WRITE,
    MAX_AUTH_LEVEL,
    MIN_AUTH_LEVEL,
    MIN_HS256_SECRET_BYTES,
    ORG_CLAIM,
    ORG_NUMBER_CLAIM,
    PARTY_ID_CLAIM,
    SCOPE_CLAIM,
    SERVICE_OWNER_READ,
    SERVICE_OWNER_WRITE,
    USER_ID_CLAIM,
)

# Used only by the embedded (in-memory) mode when no secret is configured; anyone can read it here.
DEVELOPMENT_SECRET = "instance-gateway-development-secret-do-not-use-in-production"

SERVICE_OWNER_DEFAULT_SCOPES = (SERVICE_OWNER_READ, SERVICE_OWNER_WRITE)
END_USER_DEFAULT_SCOPES = (END_USER_READ, END_USER_WRITE)


def mint_token(
    *,
    secret: str,
    org: str | None = None,
    org_number: str | None = None,
    user_id: str | None = None,
    party_id: str | None = None,
    scopes: Iterable[str] | None = None,
    auth_level: int = 3,
    ttl_seconds: int = 3600,
    now: datetime | None = None,
) -> str:
    """Mint an HS256 token for a service owner (`org`) or an end user (`user_id` + `party_id`).

    Without `scopes` a service owner gets both serviceowner scopes and an end user both
    end-user scopes. `now` (default: the current time) sets `iat`; `exp` is `ttl_seconds` later.
    """
    if (org is None) == (user_id is None):
        raise ValueError("give exactly one of org (a service owner) and user_id (an end user)")
    if org is not None and (user_id is not None or party_id is not None):
        raise ValueError("a service owner token takes no user_id or party_id")
    if user_id is not None and party_id is None:
        raise ValueError("an end user token needs the party_id the user acts for")
    if user_id is not None and org_number is not None:
        raise ValueError("org_number belongs to a service owner token, not an end user token")
    if not MIN_AUTH_LEVEL <= auth_level <= MAX_AUTH_LEVEL:
        raise ValueError(f"auth_level must be between {MIN_AUTH_LEVEL} and {MAX_AUTH_LEVEL}")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ValueError(f"the HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes")

    if scopes is None:
        scopes = SERVICE_OWNER_DEFAULT_SCOPES if org is not None else END_USER_DEFAULT_SCOPES
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        AUTH_LEVEL_CLAIM: auth_level,
        SCOPE_CLAIM: " ".join(scopes),
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=ttl_seconds),
    }
    if org is not None:
        claims[ORG_CLAIM] = org.lower()
        if org_number is not None:
            claims[ORG_NUMBER_CLAIM] = org_number
    else:
        claims[USER_ID_CLAIM] = str(user_id)
        claims[PARTY_ID_CLAIM] = str(party_id)
    return jwt.encode(claims, secret, algorithm="HS256")
