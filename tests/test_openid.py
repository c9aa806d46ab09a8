"""Tokens checked against an OpenID provider's published keys: a small provider runs in the test
(its configuration and its key set over HTTP), and keys are added, looked for and lost while
the gateway runs."""

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.factories import make_instance
from tests.live_server import live_gateway
from tests.rest import STORAGE, call
from tests.websocket_client import graphql_socket

ISSUER = "https://platform.test.altinn.cloud/authentication/api/v1/openid/"
COUNT = "{ instances { totalCount } }"
DOCUMENTS = [make_instance(party_id="500")]


class Provider:
    """An OpenID provider on a free local port: /.well-known/openid-configuration and /jwks."""

    def __init__(self) -> None:
        self.private_keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []  # the kids the key set holds
        self.down = False
        self.key_set_fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if provider.down:
                    self.send_error(503)
                    return
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": f"{provider.url}/jwks"}
                elif self.path == "/jwks":
                    provider.key_set_fetches += 1
                    body = {"keys": [provider.jwk(kid) for kid in provider.published]}
                else:
                    self.send_error(404)
                    return
                encoded = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def configuration_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def publish(self, kid: str) -> None:
        self.private_keys.setdefault(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        self.published.append(kid)

    def jwk(self, kid: str) -> dict[str, Any]:
        key = RSAAlgorithm.to_jwk(self.private_keys[kid].public_key(), as_dict=True)
        return {**key, "kid": kid, "use": "sig", "alg": "RS256"}

    def token(self, kid: str, **claims: Any) -> str:
        """An end user's token naming the key `kid`; one never published is signed with key-1."""
        payload = {
            "urn:altinn:userid": "1",
            "urn:altinn:partyid": "500",
            "urn:altinn:authlevel": 3,
            "iss": ISSUER,
            "exp": datetime.now(UTC) + timedelta(hours=1),
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        private_key = self.private_keys.get(kid, self.private_keys["key-1"])
        return jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[Provider]:
    provider = Provider()
    provider.publish("key-1")
    thread = threading.Thread(target=provider.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def openid(provider: Provider, **settings: Any) -> dict[str, Any]:
    return {"jwt_secret": None, "openid_configuration_url": provider.configuration_url, **settings}


async def graphql(gw, token: str) -> tuple[int, dict[str, Any]]:
    response = await gw.http.post("/graphql", json={"query": COUNT}, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def message(body: dict[str, Any]) -> str:
    return body["errors"][0]["message"]


async def test_a_token_signed_with_a_published_key_and_the_providers_issuer_is_accepted(gateway_with, provider):
    async with gateway_with(DOCUMENTS, **openid(provider)) as gw:
        assert await graphql(gw, provider.token("key-1")) == (200, {"data": {"instances": {"totalCount": 1}}})
        status, body = await graphql(gw, provider.token("key-1", iss="https://someone.else/"))
        assert (status, message(body)) == (401, f"token issuer (iss) is not {ISSUER}")
        status, body = await graphql(gw, provider.token("key-1", iss=None))
        assert (status, message(body)) == (401, "token has no iss claim")
        status, body = await graphql(gw, provider.token("key-2"))
        assert (status, message(body)) == (401, "token key 'key-2' is not one the OpenID provider publishes")


async def test_the_audience_is_checked_when_it_is_set(gateway_with, provider):
    async with gateway_with(DOCUMENTS, **openid(provider, token_audience="instance-gateway")) as gw:
        assert (await graphql(gw, provider.token("key-1", aud="instance-gateway")))[0] == 200
        assert (await graphql(gw, provider.token("key-1", aud=["other", "instance-gateway"])))[0] == 200
        status, body = await graphql(gw, provider.token("key-1", aud="other"))
        assert (status, message(body)) == (401, "token audience (aud) does not name instance-gateway")
        status, body = await graphql(gw, provider.token("key-1"))
        assert (status, message(body)) == (401, "token has no aud claim")


async def test_a_key_added_while_the_gateway_runs_is_fetched_when_a_token_names_it(gateway_with, provider):
    async with gateway_with(DOCUMENTS, **openid(provider, openid_refetch_interval_s=1e-6)) as gw:
        assert (await graphql(gw, provider.token("key-1")))[0] == 200
        provider.publish("key-2")  # the provider rotates: key-2 signs from now on
        assert (await graphql(gw, provider.token("key-2")))[0] == 200
        assert (await graphql(gw, provider.token("key-1", **{"urn:altinn:userid": "2"})))[0] == 200
        assert provider.key_set_fetches == 2


async def test_a_flood_of_unknown_kids_fetches_the_keys_at_most_once_per_interval(gateway_with, provider):
    async with gateway_with(DOCUMENTS, **openid(provider, openid_refetch_interval_s=600)) as gw:
        floods = [graphql(gw, provider.token(f"made-up-{n}")) for n in range(20)]
        answers = await asyncio.gather(*floods)
        assert {status for status, _ in answers} == {401}
        assert provider.key_set_fetches == 1
        for n in range(20, 40):
            assert (await graphql(gw, provider.token(f"made-up-{n}")))[0] == 401
        assert (await graphql(gw, provider.token("key-1")))[0] == 200
        assert provider.key_set_fetches == 1


async def test_while_the_provider_is_down_the_keys_held_keep_working(gateway_with, provider, caplog):
    async with gateway_with(DOCUMENTS, **openid(provider, openid_refetch_interval_s=1e-6)) as gw:
        assert (await graphql(gw, provider.token("key-1")))[0] == 200
        provider.down = True
        with caplog.at_level(logging.WARNING, logger="instance_gateway"):
            status, body = await graphql(gw, provider.token("key-2"))
        assert (status, message(body)) == (401, "token key 'key-2' is not one the OpenID provider publishes")
        assert "the 1 keys held stay in use" in caplog.text
        # another token of the key held (not the one verified before, which is kept)
        assert (await graphql(gw, provider.token("key-1", **{"urn:altinn:userid": "2"})))[0] == 200
        metrics = (await gw.http.get("/metrics")).text
        assert "gateway_openid_key_fetch_failures_total 1.0" in metrics


async def test_the_gateway_starts_while_the_provider_is_down_and_answers_503_until_it_is_back(gateway_with, provider):
    provider.down = True
    async with gateway_with(DOCUMENTS, **openid(provider, openid_refetch_interval_s=1e-6)) as gw:
        assert (await gw.http.get("/healthz")).status_code == 200
        status, body = await graphql(gw, provider.token("key-1"))
        assert (status, body["errors"][0]["extensions"]["code"]) == (503, "SERVICE_UNAVAILABLE")
        rest = await call(gw, "GET", f"{STORAGE}/500/{DOCUMENTS[0]['id'].split('/')[1]}", token=provider.token("key-1"))
        assert (rest.status_code, rest.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
        provider.down = False
        assert (await graphql(gw, provider.token("key-1")))[0] == 200


async def test_over_websocket_a_token_waits_for_the_provider_too(provider):
    provider.down = True
    with live_gateway(**openid(provider, openid_refetch_interval_s=1e-6)) as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            await socket.init_without_answer(provider.token("key-1"))
            code, reason = await socket.closed()
            assert (code, reason) == (
                1013,
                "Try again later: the OpenID provider's signing keys cannot be fetched now: try again shortly",
            )
        provider.down = False
        async with graphql_socket(gateway.ws_url) as socket:
            assert await socket.init(provider.token("key-1")) == {"type": "connection_ack"}
