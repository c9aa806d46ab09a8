"""The ASGI application: routes, and the services opened for its lifetime."""

import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.authorization.identity import TokenVerifier
from app.authorization.policy_repository import PolicyRepository
from app.config import Settings
from app.graphql.context import Context
from app.graphql.schema import schema
from app.http.authentication import authenticate, development_headers, token_verifier
from app.http.graphiql import graphiql_static
from app.http.graphql_view import GraphQLView
from app.store.changes import InstanceChanges
from app.store.cursors import CursorCodec
from app.store.database import Database, connect, ensure_indexes
from app.store.instances import InstanceStore
from app.store.party_roles import PartyRoles

log = logging.getLogger("instance_gateway")

Seeder = Callable[[Database], Awaitable[None]]


@dataclass
class Services:
    settings: Settings
    database: Database
    store: InstanceStore
    changes: InstanceChanges
    party_roles: PartyRoles
    verifier: TokenVerifier
    policies: PolicyRepository

    def context_for(self, request: Request) -> Context:
        """The context of one request: UNAUTHENTICATED without a valid token."""
        return Context(
            settings=self.settings,
            caller=authenticate(request, self.verifier),
            store=self.store,
            changes=self.changes,
            party_roles=self.party_roles,
            policies=self.policies,
        )


def load_policies(settings: Settings) -> PolicyRepository:
    """The configured policy folder; the demo apps' policies on the embedded store."""
    if settings.policy_dir:
        policies = PolicyRepository.load(settings.policy_dir)
    elif settings.embedded:
        policies = PolicyRepository.demo()
    else:
        log.warning("no GATEWAY_POLICY_DIR: only service owners reading their own org's instances get access")
        policies = PolicyRepository()
    for app_id, error in policies.errors.items():
        log.error("policy of %s is malformed; every request on it is denied: %s", app_id, error)
    return policies


def _cursor_secret(settings: Settings) -> bytes:
    # Cursors must outlive a restart and work across replicas when a secret is configured;
    # without one (embedded mode) a per-process key is enough.
    if settings.jwt_secret:
        return hashlib.sha256(b"cursor:" + settings.jwt_secret.encode()).digest()
    return secrets.token_bytes(32)


async def open_services(
    settings: Settings, verifier: TokenVerifier, policies: PolicyRepository, seed: Seeder | None = None
) -> Services:
    database = connect(settings.mongodb_url, settings.mongodb_database)
    await ensure_indexes(database)
    changes = InstanceChanges(database)
    recovered = await changes.flush_pending_events()
    if recovered:
        log.warning("recorded %d audit events of changes interrupted before they were recorded", recovered)
    if seed is not None:
        await seed(database)
    return Services(
        settings=settings,
        database=database,
        store=InstanceStore(database, CursorCodec(_cursor_secret(settings))),
        changes=changes,
        party_roles=PartyRoles(database),
        verifier=verifier,
        policies=policies,
    )


def create_app(settings: Settings, *, seed: Seeder | None = None) -> Starlette:
    """The gateway for these settings; `seed` fills the store once it is open. Raises
    ConfigurationError or PolicyError at once for settings it cannot run with."""
    verifier = token_verifier(settings)
    policies = load_policies(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await open_services(settings, verifier, policies, seed)
        app.state.services = services
        try:
            yield
        finally:
            await services.database.close()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "embedded": settings.embedded})

    graphql: Any = GraphQLView(schema, graphql_ide="graphiql")
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            graphiql_static(),
            Route("/healthz", health),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.graphiql_headers = development_headers(settings)
    return app
