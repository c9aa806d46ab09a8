"""Who is calling: verifying an Altinn-style JWT and reading its claims into a `Caller`."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import HMACAlgorithm

from app.lru import LRU

# Altinn Storage asks for a scope in two places only: a service owner's list of instances needs
# the read scope, and the sync adapter's scope stands in for it and for the app's policy.
SERVICE_OWNER_READ = "altinn:serviceowner/instances.read"
SERVICE_OWNER_WRITE = "altinn:serviceowner/instances.write"
SYNC_ADAPTER = "altinn:storage/instances.syncadapter"

ORG_CLAIM = "urn:altinn:org"
ORG_NUMBER_CLAIM = "urn:altinn:orgNumber"
USER_ID_CLAIM = "urn:altinn:userid"
PARTY_ID_CLAIM = "urn:altinn:partyid"
AUTH_LEVEL_CLAIM = "urn:altinn:authlevel"
SCOPE_CLAIM = "scope"
# Where Altinn exchanged a Maskinporten token its scopes are here; Altinn reads it before `scope`.
ALTINN_SCOPE_CLAIM = "urn:altinn:scope"
AUTHORIZATION_DETAILS_CLAIM = "authorization_details"
SYSTEM_USER_TYPE = "urn:altinn:systemuser"
# A system user's owner is named as `0192:<organisation number>` under this authority.
SYSTEM_USER_ORG_AUTHORITY = "iso6523-actorid-upis"

MIN_AUTH_LEVEL, MAX_AUTH_LEVEL = 0, 4
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_HS256_SECRET_BYTES = 32
# The token issuer and this gateway run on different clocks; without some slack a token minted
# a moment ago can look "not yet valid", or one at its expiry edge can flap between accept/reject.
# The default of Settings.token_leeway_s.
CLOCK_SKEW_LEEWAY_SECONDS = 30
# RFC 7519's NumericDate claims: JSON numbers (PyJWT would also take a string of digits).
TIME_CLAIMS = ("exp", "nbf", "iat")
# A client sends the same token with every request until it expires: verifying it once spares each
# later request the signature and the claims. Bounded, least recently used out first.
VERIFIED_TOKENS_KEPT = 1024

_DIGITS = re.compile(r"[0-9]+")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: a service owner (`org` set), else an end user (`user_id`) or a
    system user (`system_user_id`, acting for the organisation that owns it), as Altinn ranks them."""

    org: str | None = None
    org_number: str | None = None
    user_id: str | None = None
    party_id: str | None = None
    system_user_id: str | None = None
    system_user_org_number: str | None = None
    auth_level: int = 0
    scopes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.org is None and self.user_id is None and self.system_user_id is None:
            raise ValueError("a caller needs an org, a user_id or a system_user_id")
        if not MIN_AUTH_LEVEL <= self.auth_level <= MAX_AUTH_LEVEL:
            raise ValueError(f"auth_level must be {MIN_AUTH_LEVEL}..{MAX_AUTH_LEVEL}")

    @property
    def is_service_owner(self) -> bool:
        return self.org is not None

    @property
    def is_sync_adapter(self) -> bool:
        return self.has_scope(SYNC_ADAPTER)

    @property
    def role_holder(self) -> str | None:
        """Whose roles for parties count (party-roles' `userId`): the user's, else the system
        user's; a service owner's come from the policy's org rules instead."""
        return None if self.is_service_owner else self.user_id or self.system_user_id

    @property
    def actor_id(self) -> str:
        """The `lastChangedBy` id: org number (else org) for a service owner, else the user id,
        else (as Altinn) the organisation number of the system user's owner."""
        if self.org is not None:
            return self.org_number or self.org
        actor = self.user_id or self.system_user_org_number or self.system_user_id
        assert actor is not None  # guaranteed by __post_init__
        return actor

    def has_scope(self, name: str) -> bool:
        # Altinn compares scopes ignoring case.
        return any(scope.casefold() == name.casefold() for scope in self.scopes)


class InvalidToken(Exception):
    """A missing, malformed or unacceptable token; the message is safe to show to the caller."""


class KeysUnavailable(Exception):
    """No key to check a token with can be had now (the OpenID provider is down, and no keys
    were fetched before); the token may be good, so the caller should try again."""


class PublishedKeys(Protocol):
    """RS256 keys an issuer publishes and rotates (app/authorization/openid.py)."""

    @property
    def issuer(self) -> str | None: ...

    async def key(self, kid: str | None) -> RSAPublicKey: ...


class TokenVerifier:
    """Verifies tokens with one configured key source: an HS256 secret, an RS256 PEM public key,
    or the keys an OpenID provider publishes (whose `issuer` each token's `iss` must be). With
    an `audience`, a token's `aud` must name it."""

    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        rs256_public_key: str | None = None,
        published_keys: PublishedKeys | None = None,
        audience: str | None = None,
        leeway_s: float = CLOCK_SKEW_LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        if sum(source is not None for source in (hs256_secret, rs256_public_key, published_keys)) != 1:
            raise ValueError("configure exactly one of hs256_secret, rs256_public_key and published_keys")
        self._audience = audience
        self._leeway_s = leeway_s
        self._clock = clock
        self._verified = LRU(VERIFIED_TOKENS_KEPT)  # token: (caller, exp)
        self._algorithm = "RS256"
        self._key: Callable[[str | None], Awaitable[str | RSAPublicKey]]
        if hs256_secret is not None:
            self._algorithm = "HS256"
            self._key = _fixed(_checked_hs256_secret(hs256_secret))
        elif rs256_public_key is not None:
            self._key = _fixed(_loaded_rs256_public_key(rs256_public_key))
        else:
            assert published_keys is not None
            self._key = published_keys.key
        self._published_keys = published_keys

    @property
    def algorithm(self) -> str:
        return self._algorithm

    async def verify(self, token: str) -> Caller:
        """Check algorithm, signature, lifetime (and issuer, audience), read the Altinn claims;
        raise InvalidToken, or KeysUnavailable when the keys to check it with cannot be had."""
        return (await self.verify_with_expiry(token))[0]

    async def verify_with_expiry(self, token: str) -> tuple[Caller, int]:
        """`verify`, and when the token expires (its `exp`, seconds since the epoch)."""
        verified = self._verified.get(token)
        # What PyJWT checks at each decode and may change with time is expiry alone: a token
        # valid once (its signature, nbf, iat, iss, aud) stays so until then.
        if verified is not None and verified[1] > self._clock() - self._leeway_s:
            return verified
        _check_compact_form(token)
        header = self._checked_header(token)
        key = await self._key(header.get("kid"))
        verified = self._decode(token, key)
        self._verified.put(token, verified)
        return verified

    def _decode(self, token: str, key: str | RSAPublicKey) -> tuple[Caller, int]:
        issuer = self._published_keys.issuer if self._published_keys is not None else None
        required = ["exp", *(["iss"] if issuer else []), *(["aud"] if self._audience else [])]
        try:
            claims = jwt.decode(
                token,
                key,
                # Pinned to the configured key's algorithm: never trust the header's choice.
                algorithms=[self._algorithm],
                leeway=self._leeway_s,
                issuer=issuer,
                audience=self._audience,
                # Without a configured audience PyJWT would refuse every token that carries an `aud`.
                options={"require": required, "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise InvalidToken("token is not yet valid") from error
        except jwt.InvalidIssuedAtError as error:
            raise InvalidToken("token has an invalid iat (issued-at) claim") from error
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"token has no {error.claim} claim") from error
        except jwt.InvalidIssuerError as error:
            raise InvalidToken(f"token issuer (iss) is not {issuer}") from error
        except jwt.InvalidAudienceError as error:
            raise InvalidToken(f"token audience (aud) does not name {self._audience}") from error
        except jwt.InvalidSignatureError as error:
            raise InvalidToken("token signature is invalid") from error
        except jwt.DecodeError as error:
            raise InvalidToken("token is malformed") from error
        except jwt.PyJWTError as error:
            raise InvalidToken("token is invalid") from error
        for name in TIME_CLAIMS:
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
                raise InvalidToken(f"token claim {name} must be a number of seconds")
        return caller_from_claims(claims), int(claims["exp"])

    def _checked_header(self, token: str) -> dict[str, Any]:
        # The algorithm is checked before decoding only to give a precise message; jwt.decode
        # enforces it as well.
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("token is malformed") from error
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            raise InvalidToken("token header has no algorithm")
        if algorithm != self._algorithm:
            raise InvalidToken(f"token algorithm {algorithm!r} is not accepted")
        return header


def _fixed(key: str | RSAPublicKey) -> Callable[[str | None], Awaitable[str | RSAPublicKey]]:
    async def the_key(kid: str | None) -> str | RSAPublicKey:
        return key  # one key, whatever the token's kid

    return the_key


def _check_compact_form(token: str) -> None:
    # Each part in base64url without padding, as RFC 7515 writes it and in that one form: PyJWT
    # also takes standard base64, padding, and other last characters of the same bytes, so
    # that one token had many spellings.
    parts = token.split(".")
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) and _canonical(part) for part in parts):
        raise InvalidToken("token is malformed: it must be three base64url parts without padding")


def _canonical(part: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except binascii.Error:  # a length no encoding has
        return False
    return base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == part


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    """Read verified Altinn claims into a Caller; raise InvalidToken when they are unusable."""
    org = _id_claim(claims, ORG_CLAIM)
    user_id = _id_claim(claims, USER_ID_CLAIM)
    system_user_id, system_user_org_number = _system_user(claims)
    if org is None and user_id is None and system_user_id is None:
        raise InvalidToken(
            f"token has no {ORG_CLAIM} or {USER_ID_CLAIM} claim, "
            f"nor a {SYSTEM_USER_TYPE} in {AUTHORIZATION_DETAILS_CLAIM}"
        )
    return Caller(
        org=org.lower() if org is not None else None,
        org_number=_id_claim(claims, ORG_NUMBER_CLAIM),
        user_id=user_id,
        party_id=_id_claim(claims, PARTY_ID_CLAIM),
        system_user_id=system_user_id,
        system_user_org_number=system_user_org_number,
        auth_level=_auth_level(claims),
        scopes=_scopes(claims),
    )


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when the header is absent."""
    if authorization_header is None or not authorization_header.strip():
        return None
    parts = authorization_header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise InvalidToken("Authorization header must be 'Bearer <token>'")
    return parts[1]


def _checked_hs256_secret(secret: str) -> str:
    if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ValueError(f"the HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes")
    try:
        # PyJWT refuses PEM text as an HMAC secret; fail at start-up rather than on every request.
        HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(secret)
    except jwt.InvalidKeyError as error:
        raise ValueError("the HS256 secret looks like a PEM key, not a secret") from error
    return secret


def _loaded_rs256_public_key(pem: str) -> RSAPublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as error:
        raise ValueError("the RS256 public key is not a PEM public key") from error
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the RS256 public key is not an RSA key")
    return key


def _id_claim(claims: dict[str, Any], name: str) -> str | None:
    # Altinn writes numeric ids sometimes as numbers, sometimes as strings: accept both as text.
    value = claims.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidToken(f"token claim {name} must be a string or an integer")
    return str(value).strip() or None


def _auth_level(claims: dict[str, Any]) -> int:
    value = claims.get(AUTH_LEVEL_CLAIM)
    if value is None:
        # Absent means no assurance at all, so policies that ask for a minimum level deny.
        return MIN_AUTH_LEVEL
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        level = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        level = value
    else:
        raise InvalidToken(f"token claim {AUTH_LEVEL_CLAIM} must be an integer")
    if not MIN_AUTH_LEVEL <= level <= MAX_AUTH_LEVEL:
        raise InvalidToken(f"token claim {AUTH_LEVEL_CLAIM} must be between {MIN_AUTH_LEVEL} and {MAX_AUTH_LEVEL}")
    return level


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    # As Altinn: `urn:altinn:scope` where the token has it, else `scope`; never both.
    name = ALTINN_SCOPE_CLAIM if claims.get(ALTINN_SCOPE_CLAIM) is not None else SCOPE_CLAIM
    value = claims.get(name)
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise InvalidToken(f"token claim {name} must be a space-separated string")
    return frozenset(value.split())


def _system_user(claims: dict[str, Any]) -> tuple[str | None, str | None]:
    """The system user's id and its owner's organisation number, from the `authorization_details`
    entry of type urn:altinn:systemuser (an object, a list of them, or their JSON text, as Altinn
    writes it): `systemuser_id` a list whose first item is the id, `systemuser_org` its owner."""
    value = claims.get(AUTHORIZATION_DETAILS_CLAIM)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidToken(f"token claim {AUTHORIZATION_DETAILS_CLAIM} is not JSON") from None
    details = value if isinstance(value, list) else [value]
    entry = next((d for d in details if isinstance(d, dict) and d.get("type") == SYSTEM_USER_TYPE), None)
    if entry is None:
        return None, None
    ids = entry.get("systemuser_id")
    if not isinstance(ids, list) or not ids or not isinstance(ids[0], str) or not is_uuid(ids[0]):
        raise InvalidToken(f"token's {SYSTEM_USER_TYPE} needs systemuser_id: a list whose first item is a UUID")
    owner = entry.get("systemuser_org")
    owner_id = owner.get("ID") if isinstance(owner, dict) else None
    if not isinstance(owner_id, str) or owner.get("authority") != SYSTEM_USER_ORG_AUTHORITY:
        # Altinn records no owner then; the id alone names who acted.
        return ids[0].lower(), None
    _, _, org_number = owner_id.partition(":")
    return ids[0].lower(), org_number or None


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
