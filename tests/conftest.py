"""Shared fixtures: a gateway on a fresh embedded store, driven over HTTP in process."""

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.http.app import create_app
from app.store.documents import normalize_instance
from app.store.writes import write_all


class Gateway:
    """An HTTP client for one running gateway, with a GraphQL helper."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def query(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a query that must succeed."""
        body = await self.query(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@contextlib.asynccontextmanager
async def running_gateway(
    instances: Sequence[dict[str, Any]] = (), roles: Sequence[dict[str, Any]] = (), **settings: Any
) -> AsyncIterator[Gateway]:
    documents = [normalize_instance(d) for d in instances]
    app = create_app(
        Settings(_env_file=None, **settings), seed=lambda database: write_all(database, documents, list(roles))
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
