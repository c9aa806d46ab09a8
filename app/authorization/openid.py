"""The signing keys an OpenID provider publishes (Altinn's platform does): its configuration's
`issuer` and the RS256 keys at its `jwks_uri`, by `kid`. Fetched when a token names a key not
held (the provider rotated its keys) or the keys are old, at most once per interval, so that a
flood of made-up kids cannot hammer the provider; while it is down, the keys held keep working."""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from app.authorization.identity import InvalidToken, KeysUnavailable

log = logging.getLogger("instance_gateway")

# As ASP.NET's OpenID configuration manager, which Altinn's own services run on: keys are
# fetched again after half a day even when no token asks for a new one, so a withdrawn key goes.
KEYS_MAX_AGE_S = 12 * 3600


class OpenIdKeys:
    def __init__(
        self,
        configuration_url: str,
        *,
        refetch_interval_s: float,
        timeout_s: float,
        on_failure: Callable[[], None] = lambda: None,
        max_age_s: float = KEYS_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = configuration_url
        self._refetch_interval_s = refetch_interval_s
        self._timeout_s = timeout_s
        self._on_failure = on_failure
        self._max_age_s = max_age_s
        self._clock = clock
        self._issuer: str | None = None
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None  # of the keys held
        self._tried_at: float | None = None  # the last fetch, whether it worked or not
        self._fetching = asyncio.Lock()

    @property
    def issuer(self) -> str | None:
        """The provider's `issuer`, once its configuration has been fetched."""
        return self._issuer

    async def key(self, kid: str | None) -> RSAPublicKey:
        """The key of this `kid`; InvalidToken when the provider publishes none, KeysUnavailable
        when no keys could be fetched at all yet."""
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token header has no kid: it must name the OpenID provider's key that signed it")
        if kid not in self._keys or self._clock() - (self._fetched_at or 0) > self._max_age_s:
            await self._refresh()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._fetched_at is None:
            raise KeysUnavailable("the OpenID provider's signing keys cannot be fetched now: try again shortly")
        raise InvalidToken(f"token key {kid!r} is not one the OpenID provider publishes")

    async def _refresh(self) -> None:
        async with self._fetching:
            if self._tried_at is not None and self._clock() - self._tried_at < self._refetch_interval_s:
                return  # fetched (or failed) a moment ago, maybe for a request that waited here
            self._tried_at = self._clock()
            try:
                async with asyncio.timeout(self._timeout_s):
                    issuer, keys = await self._fetch()
            except (httpx.HTTPError, ValueError, TimeoutError) as error:
                self._on_failure()
                log.warning(
                    "the OpenID provider's keys could not be fetched from %s (%s); %s",
                    self._url,
                    str(error) or type(error).__name__,
                    f"the {len(self._keys)} keys held stay in use" if self._keys else "no token can be verified",
                )
                return
            self._issuer, self._keys, self._fetched_at = issuer, keys, self._tried_at

    async def _fetch(self) -> tuple[str, dict[str, RSAPublicKey]]:
        async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=True) as client:
            configuration = await _json(client, self._url)
            issuer, jwks_uri = configuration.get("issuer"), configuration.get("jwks_uri")
            if not isinstance(issuer, str) or not issuer or not isinstance(jwks_uri, str):
                raise ValueError("the OpenID configuration has no issuer or no jwks_uri")
            return issuer, _signing_keys(await _json(client, jwks_uri))


async def _json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} answered no JSON object")
    return document


def _signing_keys(jwks: dict[str, Any]) -> dict[str, RSAPublicKey]:
    """The RS256 signing keys of a JWK set, by kid; others (encryption keys, other types) are
    no concern of ours. A set without one is refused, so a broken answer replaces no keys."""
    entries = jwks.get("keys")
    keys = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
            continue
        try:
            key = jwt.PyJWK(entry, algorithm="RS256").key
        except jwt.PyJWTError as error:
            log.warning("the OpenID provider's key %r cannot be used: %s", entry["kid"], error)
            continue
        if isinstance(key, RSAPublicKey):
            keys[entry["kid"]] = key
    if not keys:
        raise ValueError("the key set holds no RS256 signing key")
    return keys
