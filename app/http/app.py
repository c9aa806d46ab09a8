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

from app.config import Settings
from app.graphql.context import Context
from app.graphql.schema import schema
from app.http.graphql_view import GraphQLView
from app.store.cursors import CursorCodec
from app.store.database import Database, connect, ensure_indexes
from app.store.instances import InstanceStore

log = logging.getLogger("instance_gateway")

Seeder = Callable[[Database], Awaitable[None]]


@dataclass
class Services:
    database: Database
    store: InstanceStore

    def context_for(self, request: Request) -> Context:
        return Context(store=self.store)


def _cursor_secret(settings: Settings) -> bytes:
    # Cursors must outlive a restart and work across replicas when a secret is configured;
    # without one (embedded mode) a per-process key is enough.
    if settings.jwt_secret:
        return hashlib.sha256(b"cursor:" + settings.jwt_secret.encode()).digest()
    return secrets.token_bytes(32)


async def open_services(settings: Settings, seed: Seeder | None = None) -> Services:
    database = connect(settings.mongodb_url, settings.mongodb_database)
    await ensure_indexes(database)
    if seed is not None:
        await seed(database)
    return Services(database=database, store=InstanceStore(database, CursorCodec(_cursor_secret(settings))))


def create_app(settings: Settings, *, seed: Seeder | None = None) -> Starlette:
    """The gateway for these settings; `seed` fills the store once it is open."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await open_services(settings, seed)
        app.state.services = services
        try:
            yield
        finally:
            await services.database.close()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "embedded": settings.embedded})

    graphql: Any = GraphQLView(schema, graphql_ide="graphiql")
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", health),
        ],
        lifespan=lifespan,
    )
