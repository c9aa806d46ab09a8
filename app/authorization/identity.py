"""Who is calling: verifying an Altinn-style JWT and reading its claims into a `Caller`."""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import HMACAlgorithm

from app.lru import LRU

SERVICE_OWNER_READ = "altinn:serviceowner/instances.read"
SERVICE_OWNER_WRITE = "altinn:serviceowner/instances.write"
END_USER_READ = "altinn:instances.read"
END_USER_WRITE = "altinn:instances.write"

ORG_CLAIM = "urn:altinn:org"
ORG_NUMBER_CLAIM = "urn:altinn:orgNumber"
USER_ID_CLAIM = "urn:altinn:userid"
PARTY_ID_CLAIM = "urn:altinn:partyid"
AUTH_LEVEL_CLAIM = "urn:altinn:authlevel"
SCOPE_CLAIM = "scope"

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
    """The authenticated caller: a service owner (`org` set) or an end user (`user_id` set)."""

    org: str | None = None
    org_number: str | None = None
    user_id: str | None = None
    party_id: str | None = None
    auth_level: int = 0
    scopes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.org is None and self.user_id is None:
            raise ValueError("a caller needs an org or a user_id")
        if not MIN_AUTH_LEVEL <= self.auth_level <= MAX_AUTH_LEVEL:
            raise ValueError(f"auth_level must be {MIN_AUTH_LEVEL}..{MAX_AUTH_LEVEL}")

    @property
    def is_service_owner(self) -> bool:
        return self.org is not None

    @property
    def actor_id(self) -> str:
        """The `lastChangedBy` id: org number (else org) for a service owner, else user id."""
        if self.org is not None:
            return self.org_number or self.org
        assert self.user_id is not None  # guaranteed by __post_init__
        return self.user_id

    def has_scope(self, name: str) -> bool:
        return name in self.scopes


class InvalidToken(Exception):
    """A missing, malformed or unacceptable token; the message is safe to show to the caller."""


class TokenVerifier:
    """Verifies tokens with one configured key: an HS256 secret or an RS256 PEM public key."""

    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        rs256_public_key: str | None = None,
        leeway_s: float = CLOCK_SKEW_LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        if (hs256_secret is None) == (rs256_public_key is None):
            raise ValueError("configure exactly one of hs256_secret and rs256_public_key")
        self._leeway_s = leeway_s
        self._clock = clock
        self._verified = LRU(VERIFIED_TOKENS_KEPT)  # token: (caller, exp)
        self._key: str | RSAPublicKey
        if hs256_secret is not None:
            self._algorithm = "HS256"
            self._key = _checked_hs256_secret(hs256_secret)
        else:
            assert rs256_public_key is not None
            self._algorithm = "RS256"
            self._key = _loaded_rs256_public_key(rs256_public_key)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def verify(self, token: str) -> Caller:
        """Check algorithm, signature and lifetime, read the Altinn claims; raise InvalidToken."""
        return self.verify_with_expiry(token)[0]

    def verify_with_expiry(self, token: str) -> tuple[Caller, int]:
        """`verify`, and when the token expires (its `exp`, seconds since the epoch)."""
        verified = self._verified.get(token)
        # What PyJWT checks at each decode and may change with time is expiry alone: a token
        # valid once (its signature, nbf, iat) stays so until then.
        if verified is not None and verified[1] > self._clock() - self._leeway_s:
            return verified
        verified = self._decode(token)
        self._verified.put(token, verified)
        return verified

    def _decode(self, token: str) -> tuple[Caller, int]:
        _check_compact_form(token)
        self._check_algorithm(token)
        try:
            claims = jwt.decode(
                token,
                self._key,
                # Pinned to the configured key's algorithm: never trust the header's choice.
                algorithms=[self._algorithm],
                leeway=self._leeway_s,
                # No audience or issuer is configured; trust rests on the signing key alone, and
                # PyJWT would otherwise refuse every token that happens to carry an `aud`.
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise InvalidToken("token is not yet valid") from error
        except jwt.InvalidIssuedAtError as error:
            raise InvalidToken("token has an invalid iat (issued-at) claim") from error
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"token has no {error.claim} claim") from error
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

    def _check_algorithm(self, token: str) -> None:
        # Checked before decoding only to give a precise message; jwt.decode enforces it as well.
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("token is malformed") from error
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            raise InvalidToken("token header has no algorithm")
        if algorithm != self._algorithm:
            raise InvalidToken(f"token algorithm {algorithm!r} is not accepted")


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
    if org is None and user_id is None:
        raise InvalidToken(f"token has no {ORG_CLAIM} or {USER_ID_CLAIM} claim")
    return Caller(
        org=org.lower() if org is not None else None,
        org_number=_id_claim(claims, ORG_NUMBER_CLAIM),
        user_id=user_id,
        party_id=_id_claim(claims, PARTY_ID_CLAIM),
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
    value = claims.get(SCOPE_CLAIM)
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise InvalidToken(f"token claim {SCOPE_CLAIM} must be a space-separated string")
    return frozenset(value.split())
