import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.authorization import identity
from app.authorization.identity import (
    CLOCK_SKEW_LEEWAY_SECONDS,
    SERVICE_OWNER_READ,
    SERVICE_OWNER_WRITE,
    Caller,
    InvalidToken,
    TokenVerifier,
    bearer_token,
)
from app.authorization.openid import OpenIdKeys
from app.authorization.tokens import DEVELOPMENT_SECRET, mint_token
from app.config import Settings
from app.http.authentication import token_verifier
from tests.conftest import TEST_SECRET

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
SYSTEM_USER = "996a686f-d24d-4d92-a92e-5b3cec4a8cf7"
OTHER_SECRET = "another-test-secret-long-enough-for-hs256-9876543210"


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "urn:altinn:userid": "1337",
        "urn:altinn:partyid": "500000",
        "urn:altinn:authlevel": "3",
        "scope": "altinn:portal/enduser",
        "exp": datetime.now(UTC) + timedelta(hours=1),
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def level(value: Any) -> dict[str, Any]:
    return claims(**{"urn:altinn:authlevel": value})


NOT_INTEGER = "urn:altinn:authlevel must be an integer"


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed_hs256(payload: dict[str, Any], key: bytes) -> str:
    # PyJWT refuses a PEM as an HMAC key, so the key-confusion attack token is built by hand.
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(signature)}"


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, str]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_key, public_pem.decode()


verifier = TokenVerifier(hs256_secret=SECRET)


async def test_service_owner_round_trip() -> None:
    token = mint_token(secret=SECRET, org="TTD", org_number="991825827")
    caller = await verifier.verify(token)
    assert caller == Caller(
        org="ttd",
        org_number="991825827",
        auth_level=3,
        scopes=frozenset({SERVICE_OWNER_READ, SERVICE_OWNER_WRITE}),
    )
    assert caller.is_service_owner
    assert caller.actor_id == "991825827"
    assert caller.has_scope(SERVICE_OWNER_READ)
    assert not caller.has_scope("altinn:instances.read")


async def test_service_owner_without_org_number_acts_as_org() -> None:
    caller = await verifier.verify(mint_token(secret=SECRET, org="ttd", scopes=[SERVICE_OWNER_READ]))
    assert caller.actor_id == "ttd"
    assert caller.scopes == frozenset({SERVICE_OWNER_READ})


async def test_end_user_round_trip() -> None:
    token = mint_token(secret=SECRET, user_id="1", party_id="1337", auth_level=2)
    caller = await verifier.verify(token)
    assert caller == Caller(
        user_id="1",
        party_id="1337",
        auth_level=2,
        scopes=frozenset({"altinn:portal/enduser"}),
    )
    assert not caller.is_service_owner
    assert caller.actor_id == "1"


async def test_numeric_claims_are_normalised_to_text() -> None:
    token = hs256(claims(**{"urn:altinn:userid": 1337, "urn:altinn:partyid": 5, "urn:altinn:authlevel": 4}))
    caller = await verifier.verify(token)
    assert (caller.user_id, caller.party_id, caller.auth_level) == ("1337", "5", 4)


async def test_development_secret_is_usable_without_warnings() -> None:
    caller = await TokenVerifier(hs256_secret=DEVELOPMENT_SECRET).verify(
        mint_token(secret=DEVELOPMENT_SECRET, org="ttd")
    )
    assert caller.org == "ttd"


async def test_small_clock_skew_is_tolerated() -> None:
    now = datetime.now(UTC)
    token = hs256(claims(exp=now - timedelta(seconds=5), nbf=now + timedelta(seconds=5)))
    assert (await verifier.verify(token)).user_id == "1337"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (hs256(claims(exp=datetime.now(UTC) - timedelta(minutes=5))), "token has expired"),
        (hs256(claims(), OTHER_SECRET), "token signature is invalid"),
        (hs256(claims())[:-4] + "AAAA", "token signature is invalid"),
        (jwt.encode(claims(), None, algorithm="none"), "token algorithm 'none' is not accepted"),
        (hs256(claims(exp=None)), "token has no exp claim"),
        (hs256(claims(nbf=datetime.now(UTC) + timedelta(days=365))), "token is not yet valid"),
        (hs256(claims(iat=datetime.now(UTC) + timedelta(days=365))), "token is not yet valid"),
        (hs256(claims(iat="yesterday")), "token has an invalid iat"),
        (hs256(level("high")), NOT_INTEGER),
        (hs256(level(2.5)), NOT_INTEGER),
        (hs256(level(True)), NOT_INTEGER),
        (hs256(level(5)), "urn:altinn:authlevel must be between 0 and 4"),
        (hs256(level("-1")), NOT_INTEGER),
        (
            hs256(claims(**{"urn:altinn:userid": None})),
            "token has no urn:altinn:org or urn:altinn:userid claim",
        ),
        (hs256(claims(**{"urn:altinn:userid": ["1"]})), "urn:altinn:userid must be a string or"),
        (hs256(claims(scope=["a", "b"])), "scope must be a space-separated string"),
        ("not-a-token", "token is malformed"),
        ("a.b.c", "token is malformed"),
        ("", "token is malformed"),
    ],
)
async def test_refusals(token: str, message: str) -> None:
    with pytest.raises(InvalidToken, match=message):
        await verifier.verify(token)


async def test_rs256_accepts_tokens_signed_with_the_matching_private_key(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    private_key, public_pem = rsa_keys
    token = jwt.encode(claims(**{"urn:altinn:org": "ttd"}), private_key, algorithm="RS256")
    caller = await TokenVerifier(rs256_public_key=public_pem).verify(token)
    assert caller.org == "ttd"
    assert caller.user_id == "1337"


async def test_rs256_refuses_a_token_signed_with_another_key(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    _, public_pem = rsa_keys
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), other_key, algorithm="RS256")
    with pytest.raises(InvalidToken, match="token signature is invalid"):
        await TokenVerifier(rs256_public_key=public_pem).verify(token)


async def test_rs256_refuses_hs256_token_keyed_with_the_public_key(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    _, public_pem = rsa_keys
    payload = claims(exp=int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))
    token = hand_signed_hs256(payload, public_pem.encode())
    with pytest.raises(InvalidToken, match="token algorithm 'HS256' is not accepted"):
        await TokenVerifier(rs256_public_key=public_pem).verify(token)


async def test_hs256_refuses_rs256_token(rsa_keys: tuple[rsa.RSAPrivateKey, str]) -> None:
    private_key, _ = rsa_keys
    token = jwt.encode(claims(), private_key, algorithm="RS256")
    with pytest.raises(InvalidToken, match="token algorithm 'RS256' is not accepted"):
        await verifier.verify(token)


def test_verifier_configuration_errors(rsa_keys: tuple[rsa.RSAPrivateKey, str]) -> None:
    _, public_pem = rsa_keys
    with pytest.raises(ValueError, match="exactly one"):
        TokenVerifier()
    with pytest.raises(ValueError, match="exactly one"):
        TokenVerifier(hs256_secret=SECRET, rs256_public_key=public_pem)
    with pytest.raises(ValueError, match="exactly one"):
        TokenVerifier(
            rs256_public_key=public_pem, published_keys=OpenIdKeys("http://x", refetch_interval_s=1, timeout_s=1)
        )
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenVerifier(hs256_secret="short")
    with pytest.raises(ValueError, match="PEM"):
        TokenVerifier(hs256_secret=public_pem)
    with pytest.raises(ValueError, match="not a PEM public key"):
        TokenVerifier(rs256_public_key="not a key")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of org"),
        ({"org": "ttd", "user_id": "1", "party_id": "1"}, "exactly one of org"),
        ({"org": "ttd", "system_user_id": SYSTEM_USER, "system_user_org_number": "1"}, "exactly one of org"),
        ({"user_id": "1"}, "needs the party_id"),
        ({"org": "ttd", "party_id": "1"}, "party_id belongs to an end user"),
        ({"user_id": "1", "party_id": "1", "org_number": "1"}, "org_number belongs"),
        ({"system_user_id": SYSTEM_USER}, "needs system_user_id and system_user_org_number"),
        ({"org": "ttd", "scope_claim": "scp"}, "scopes go in scope or urn:altinn:scope"),
        ({"org": "ttd", "auth_level": 5}, "auth_level must be between"),
        ({"org": "ttd", "ttl_seconds": 0}, "ttl_seconds must be positive"),
        ({"org": "ttd", "secret": "short"}, "at least 32 bytes"),
    ],
)
def test_mint_token_refuses_unclear_requests(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mint_token(**{"secret": SECRET, **kwargs})


async def test_mint_token_uses_now_and_ttl() -> None:
    issued = datetime(2024, 1, 1, tzinfo=UTC)
    token = mint_token(secret=SECRET, org="ttd", now=issued, ttl_seconds=60)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iat"] == int(issued.timestamp())
    assert payload["exp"] == int(issued.timestamp()) + 60
    with pytest.raises(InvalidToken, match="token has expired"):
        await verifier.verify(token)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
    ],
)
def test_bearer_token_parses(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "abc"])
def test_bearer_token_refuses_malformed_headers(header: str) -> None:
    with pytest.raises(InvalidToken, match="Authorization header must be 'Bearer <token>'"):
        bearer_token(header)


class CountingVerifier(TokenVerifier):
    """A verifier on a clock the test sets, counting the tokens it decodes (not answered from its cache)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()
        super().__init__(hs256_secret=SECRET, clock=lambda: self.now)
        self.decoded: list[str] = []

    def _decode(self, token: str, key: Any) -> tuple[Caller, int]:
        self.decoded.append(token)
        return super()._decode(token, key)


async def test_a_verified_token_is_verified_again_only_once_it_has_expired() -> None:
    counting = CountingVerifier()
    expires = datetime.now(UTC) + timedelta(hours=1)
    token = hs256(claims(exp=expires))
    caller = await counting.verify(token)
    assert await counting.verify(token) is caller
    assert counting.decoded == [token]
    counting.now = expires.timestamp() + CLOCK_SKEW_LEEWAY_SECONDS - 1  # within the leeway: still valid
    assert await counting.verify(token) is caller
    assert counting.decoded == [token]
    counting.now = expires.timestamp() + CLOCK_SKEW_LEEWAY_SECONDS  # PyJWT's expiry, on the verifier's clock
    assert await counting.verify(token) == caller  # decoded again (on the real clock, the token is still valid)
    assert counting.decoded == [token, token]


async def test_refused_tokens_are_not_kept_and_the_kept_ones_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "VERIFIED_TOKENS_KEPT", 2)
    counting = CountingVerifier()
    refused = hs256(claims(), OTHER_SECRET)
    for _ in range(2):
        with pytest.raises(InvalidToken, match="token signature is invalid"):
            await counting.verify(refused)
    first, second, third = (hs256(claims(**{"urn:altinn:userid": str(n)})) for n in (1, 2, 3))
    for token in (first, second, first, third, first, second):
        await counting.verify(token)
    # `first`, used again before `third` came, is kept; `second` is not.
    assert counting.decoded == [refused, refused, first, second, third, second]


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
async def test_time_claims_must_be_numbers_not_strings_of_digits(name: str) -> None:
    valid = int(datetime.now(UTC).timestamp()) + (3600 if name == "exp" else -60)
    assert (await verifier.verify(hs256(claims(**{name: valid})))).user_id == "1337"
    with pytest.raises(InvalidToken, match=f"token claim {name} must be a number"):
        await verifier.verify(hs256(claims(**{name: str(valid)})))


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _signature_with_every_kind_of_character() -> tuple[str, str]:
    # A canonical token whose signature has a `-` or `_` (standard base64 writes them `+` and `/`)
    # and whose last character leaves bits unused (43 characters hold 258 bits of 256).
    for minute in range(100):
        token = hs256(claims(exp=datetime.now(UTC) + timedelta(hours=1, minutes=minute)))
        signing_input, signature = token.rsplit(".", 1)
        if "-" in signature or "_" in signature:
            return signing_input, signature
    raise AssertionError("no signature with - or _ in 100 tokens")


async def test_a_token_is_accepted_in_its_one_canonical_form_only() -> None:
    signing_input, signature = _signature_with_every_kind_of_character()
    assert (await verifier.verify(f"{signing_input}.{signature}")).user_id == "1337"
    # The last character's two unused bits are 0; with them 01 it decodes to the same bytes.
    same_bytes_other_last = signature[:-1] + BASE64URL[BASE64URL.index(signature[-1]) + 1]
    for spelling in (
        signature.replace("-", "+").replace("_", "/"),  # standard base64
        signature + "=",  # padded
        same_bytes_other_last,
    ):
        assert spelling != signature
        with pytest.raises(InvalidToken, match="three base64url parts without padding"):
            await verifier.verify(f"{signing_input}.{spelling}")


async def test_the_clock_skew_leeway_is_a_setting() -> None:
    token = hs256(claims(exp=datetime.now(UTC) - timedelta(seconds=10)), TEST_SECRET)
    assert (await token_verifier(Settings(_env_file=None, jwt_secret=TEST_SECRET)).verify(token)).user_id == "1337"
    strict = token_verifier(Settings(_env_file=None, jwt_secret=TEST_SECRET, token_leeway_s=0))
    with pytest.raises(InvalidToken, match="token has expired"):
        await strict.verify(token)
