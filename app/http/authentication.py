"""Turning a request into a caller: the bearer token, verified, or a 401."""

import logging
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request

from app.authorization.identity import Caller, InvalidToken, KeysUnavailable, TokenVerifier, bearer_token
from app.authorization.openid import OpenIdKeys
from app.authorization.tokens import DEVELOPMENT_SECRET, mint_token
from app.config import Settings
from app.errors import BadUserInput, ServiceUnavailable, Unauthenticated

log = logging.getLogger("instance_gateway")


class ConfigurationError(Exception):
    pass


def token_verifier(settings: Settings, on_key_fetch_failure: Callable[[], None] = lambda: None) -> TokenVerifier:
    """The verifier the settings ask for; only the embedded store may fall back to the
    published development secret. An OpenID provider is not asked yet: the gateway starts
    while it is down, and the first token fetches its keys."""
    sources = [settings.jwt_secret, settings.jwt_public_key_file, settings.openid_configuration_url]
    if sum(bool(source) for source in sources) > 1:
        raise ConfigurationError(
            "set one of GATEWAY_JWT_SECRET, GATEWAY_JWT_PUBLIC_KEY_FILE and GATEWAY_OPENID_CONFIGURATION_URL"
        )
    checks = {"audience": settings.token_audience, "leeway_s": settings.token_leeway_s}
    try:
        if settings.openid_configuration_url:
            keys = OpenIdKeys(
                str(settings.openid_configuration_url),
                refetch_interval_s=settings.openid_refetch_interval_s,
                timeout_s=settings.openid_timeout_s,
                on_failure=on_key_fetch_failure,
            )
            return TokenVerifier(published_keys=keys, **checks)
        if settings.jwt_public_key_file:
            return TokenVerifier(rs256_public_key=Path(settings.jwt_public_key_file).read_text(), **checks)
        if settings.jwt_secret:
            return TokenVerifier(hs256_secret=settings.jwt_secret, **checks)
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"the token key cannot be used: {error}") from None
    if not settings.embedded:
        raise ConfigurationError(
            "GATEWAY_MONGODB_URL is set but no token key is: set GATEWAY_JWT_SECRET (HS256), "
            "GATEWAY_JWT_PUBLIC_KEY_FILE (RS256) or GATEWAY_OPENID_CONFIGURATION_URL (RS256, the provider's keys); "
            "the development secret is for the embedded store only"
        )
    log.warning(
        "tokens are checked against the PUBLISHED DEVELOPMENT SECRET (embedded store only); "
        "anyone can mint them with `instance-gateway token`. Never expose this gateway."
    )
    return TokenVerifier(hs256_secret=DEVELOPMENT_SECRET, **checks)


DEVELOPMENT_TOKEN_SECONDS = 12 * 3600


def uses_development_secret(settings: Settings) -> bool:
    """Are tokens checked against the published development secret (see token_verifier)?"""
    return settings.embedded and not (
        settings.jwt_secret or settings.jwt_public_key_file or settings.openid_configuration_url
    )


def development_headers(settings: Settings) -> dict[str, str] | None:
    """On the embedded store with the development secret, GraphiQL starts with a token for
    the demo app owner ttd, so the demo works at once; never anywhere else. Each call mints a
    fresh token: the page asks for one each time it is served."""
    if not uses_development_secret(settings):
        return None
    token = mint_token(
        secret=DEVELOPMENT_SECRET, org="ttd", org_number="991825827", ttl_seconds=DEVELOPMENT_TOKEN_SECONDS
    )
    return {"Authorization": f"Bearer {token}"}


async def authenticate(request: Request, verifier: TokenVerifier) -> Caller:
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:
        # Proxies and frameworks differ in which of two they pass on: neither is chosen.
        raise BadUserInput(f"the request has {len(headers)} Authorization headers: send one")
    try:
        token = bearer_token(headers[0] if headers else None)
        if token is None:
            raise Unauthenticated("no token: send `Authorization: Bearer <JWT>` (try `instance-gateway token --help`)")
        return await verifier.verify(token)
    except InvalidToken as error:
        raise Unauthenticated(str(error)) from None
    except KeysUnavailable as error:
        # The token may be good: a 401 would tell the client to get another one, in vain.
        raise ServiceUnavailable(str(error)) from None
