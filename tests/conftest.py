"""Shared fixtures: a gateway on a fresh database, driven over HTTP in process.

Every test that asks for a store (`store`, or `gateway_with`, which uses it) runs twice: on
the embedded store (mongomock) and on a MongoDB wire-protocol server over TCP. That server
is SecantusDB, started once per session, or the MongoDB at GATEWAY_TEST_MONGODB_URL when it
is set. `pytest -m "not wire"` runs the embedded store alone.
"""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import httpx
import hypothesis
import pytest
from pymongo import MongoClient

from app.authorization.tokens import mint_token
from app.composition import create_app
from app.config import Settings
from app.store.database import Database, connect, ensure_indexes
from app.store.documents import normalize_instance
from app.store.writes import write_all

# CI draws the same examples on every run, so a submission is judged on what was tested before
# it; other runs keep drawing new ones and so keep finding new cases.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

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


DEMO_POLICIES = files("app") / "demo" / "policies"


@pytest.fixture(scope="session")
def wire_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One wire-protocol server for the whole session: a real MongoDB when
    GATEWAY_TEST_MONGODB_URL names one, an embedded SecantusDB server otherwise."""
    url = os.environ.get("GATEWAY_TEST_MONGODB_URL")
    if url:
        yield url
        return
    secantus = pytest.importorskip("secantus", reason="the wire-protocol tests need secantusdb (pip install '.[test]')")
    with secantus.SecantusDBServer(storage_path=str(tmp_path_factory.mktemp("secantus")), port=0) as server:
        yield server.uri


@dataclass
class Store:
    """Where a test's gateways keep their data: the embedded store, or a fresh database on
    the wire-protocol server for every gateway."""

    kind: str
    url: str | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def embedded(self) -> bool:
        return self.url is None

    def new_database(self) -> str:
        name = f"gateway_test_{uuid.uuid4().hex[:12]}"
        self.databases.append(name)
        return name

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Gateway settings on this store. On a server, the demo policies stand in for the
        embedded store's default, so that the same tests mean the same on both. The server is
        shared by the whole run on a busy machine: a ping it answers after the default 500 ms
        would have the gateway start unprepared and seed its documents a second later, after
        the test's first request, so a gateway on it waits longer before deciding that; and a
        query it answers after the default 1.5 s, with every core running tests, is no outage.
        Tests of outages and timeouts set their own."""
        if self.embedded:
            return overrides
        on_server = {
            "mongodb_url": self.url,
            "mongodb_database": self.new_database(),
            "policy_dir": DEMO_POLICIES,
            "readiness_timeout_ms": 10_000,
            "mongodb_timeout_ms": 10_000,
        }
        return on_server | overrides


def open_store(request: pytest.FixtureRequest, kind: str) -> Iterator[Store]:
    """A store of this kind for one test; a server's databases are dropped after it."""
    if kind == "embedded":
        yield Store(kind)
        return
    target = Store(kind, request.getfixturevalue("wire_server_url"))
    yield target
    with MongoClient(target.url, serverSelectionTimeoutMS=5000) as client:
        for name in target.databases:
            client.drop_database(name)


WIRE = pytest.param("wire", marks=pytest.mark.wire)


@pytest.fixture(params=["embedded", WIRE])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from open_store(request, request.param)


@pytest.fixture
async def database(store: Store) -> AsyncIterator[Database]:
    """A fresh, indexed database on this test's store, for tests below the gateway."""
    database = connect(store.url, store.new_database())
    await ensure_indexes(database)
    yield database
    await database.close()


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
def gateway_with(store: Store) -> GatewayFactory:
    """Start a gateway holding the given instance documents on this test's store, each on a
    fresh database: `async with gateway_with(docs) as gw`."""

    def start(
        instances: Sequence[dict[str, Any]] = (), roles: Sequence[dict[str, Any]] = (), **settings: Any
    ) -> contextlib.AbstractAsyncContextManager[Gateway]:
        return running_gateway(instances, roles, **store.settings(**settings))

    return start
