"""Shared fixtures: a gateway on a fresh embedded store, driven over HTTP in process."""

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import pytest

from app.authorization.tokens import mint_token
from app.config import Settings
from app.http.app import create_app
from app.store.documents import normalize_instance
from app.store.writes import write_all

TEST_SECRET = "instance-gateway-test-secret-of-at-least-32-bytes"


def org_token(org: str = "ttd", **claims: Any) -> str:
    """A service owner's token (read and write scopes unless `scopes` is given)."""
    return mint_token(secret=TEST_SECRET, org=org, org_number=claims.pop("org_number", "991825827"), **claims)


def user_token(user_id: str = "1337", party_id: str = "1337", **claims: Any) -> str:
    """An end user's token, acting for `party_id`."""
    return mint_token(secret=TEST_SECRET, user_id=user_id, party_id=party_id, **claims)


SERVICE_OWNER = "service owner ttd"


class Gateway:
    """An HTTP client for one running gateway, with GraphQL helpers. Requests go as the
    service owner ttd unless another token is given; token=None sends none."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def query(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = SERVICE_OWNER
    ) -> dict[str, Any]:
        if token == SERVICE_OWNER:
            token = org_token("ttd")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = SERVICE_OWNER
    ) -> dict[str, Any]:
        """The data of a query that must succeed."""
        body = await self.query(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        return body["data"]


@contextlib.asynccontextmanager
async def running_gateway(
    instances: Sequence[dict[str, Any]] = (), roles: Sequence[dict[str, Any]] = (), **settings: Any
) -> AsyncIterator[Gateway]:
    documents = [normalize_instance(d) for d in instances]
    app = create_app(
        Settings(_env_file=None, **{"jwt_secret": TEST_SECRET, **settings}),
        seed=lambda database: write_all(database, documents, list(roles)),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client)


GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def gateway_with() -> GatewayFactory:
    """Start a gateway holding the given instance documents: `async with gateway_with(docs) as gw`."""
    return running_gateway
