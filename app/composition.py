"""The composition above both edges: the services opened for the gateway's lifetime, and the
ASGI application that mounts GraphQL's and REST's routes over them."""

import asyncio
import contextlib
import functools
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute

from app.authorization.access import Access
from app.authorization.identity import Caller, TokenVerifier
from app.authorization.policy_repository import PolicyRepository
from app.config import Settings
from app.context import Context, access_of
from app.graphql.http.graphiql import graphiql_static
from app.graphql.http.view import METHODS, GraphQLView
from app.graphql.http.websocket import GraphQLWebSocket
from app.graphql.persisted import PersistedDocuments
from app.graphql.schema import build_schema
from app.http.authentication import authenticate, token_verifier
from app.http.cors import allow_cross_origin
from app.http.edge_errors import unrouted
from app.http.observability import Observability
from app.http.operations import operations_routes
from app.http.readiness import Readiness
from app.metrics import Metrics
from app.request_record import RequestRecord
from app.rest.routes import rest_routes
from app.store.change_feed import StoredChange
from app.store.change_stream import follow_changes, follow_grant_changes, replay_changes
from app.store.changes import InstanceChanges
from app.store.cursors import CursorCodec
from app.store.database import Database, connect, ensure_indexes, preparation_timeout
from app.store.instances import InstanceStore
from app.store.party_roles import PartyRoles
from app.subscriptions.grants import follow_grants
from app.subscriptions.hub import ChangeHub
from app.subscriptions.resumption import Resumption

log = logging.getLogger("instance_gateway")

Seeder = Callable[[Database], Awaitable[None]]
# A change stream's read ends within its MAX_AWAIT_MS; beyond this a stopping gateway cancels it.
STOP_FOLLOWING_S = 2.0


@dataclass
class Services:
    settings: Settings
    database: Database
    store: InstanceStore
    changes: InstanceChanges
    party_roles: PartyRoles
    verifier: TokenVerifier
    policies: PolicyRepository
    live: ChangeHub
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # the gateway is stopping
    grants_followed: asyncio.Event = field(default_factory=asyncio.Event)

    async def context_for(self, request: Request) -> Context:
        """The context of one request: UNAUTHENTICATED without a valid token."""
        return self.context_for_caller(await authenticate(request, self.verifier), request.state.request_record)

    def context_for_caller(self, caller: Caller, record: RequestRecord, **live: Any) -> Context:
        """The context of one operation of this caller; `live` for those over a WebSocket."""
        record.caller = "org" if caller.is_service_owner else "user"
        return Context(
            settings=self.settings,
            caller=caller,
            record=record,
            store=self.store,
            changes=self.changes,
            party_roles=self.party_roles,
            policies=self.policies,
            **live,
        )

    async def follow_changes(self, on_open: Callable[[], None]) -> AsyncIterator[StoredChange]:
        """The store's changes: MongoDB's change stream, or the embedded store's own feed. They
        open once role grants are followed, so that no subscriber's grants change unseen."""
        await _either(self.grants_followed, self.stopping)
        if self.stopping.is_set():  # stopped before grants were followed: nothing to follow
            return
        feed = self.database.feed
        changes = feed.follow(on_open) if feed is not None else follow_changes(self.database, on_open, self.stopping)
        async for change in changes:
            yield change

    def follow_grant_changes(self) -> AsyncIterator[str | None]:
        """Whose role grants change: MongoDB's change stream, or the embedded store's own feed."""
        feed, opened = self.database.grant_feed, self.grants_followed.set
        return feed.follow(opened) if feed is not None else follow_grant_changes(self.database, opened, self.stopping)

    async def access_of(self, caller: Caller) -> Access:
        return await access_of(caller, self.party_roles, self.policies)

    async def stop_following(self, *followers: asyncio.Task[None]) -> None:
        """End the tasks that follow changes. A change stream is asked to end after its current
        read, so that it closes its cursor and gives its connection back; the embedded feeds hold none."""
        if self.database.feed is None:
            self.stopping.set()
            await asyncio.wait(followers, timeout=STOP_FOLLOWING_S)
        for following in followers:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following


async def _either(*events: asyncio.Event) -> None:
    """Until one of `events` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def load_policies(settings: Settings) -> PolicyRepository:
    """The configured policy folder; the demo apps' policies on the embedded store."""
    if settings.policy_dir:
        policies = PolicyRepository.load(settings.policy_dir)
    elif settings.embedded:
        policies = PolicyRepository.demo()
    else:
        log.warning(
            "no GATEWAY_POLICY_DIR: only service owners reading their own org's instances get access, "
            "and every mutation is denied (FORBIDDEN): an app without a policy permits no action"
        )
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


def open_services(settings: Settings, verifier: TokenVerifier, policies: PolicyRepository) -> Services:
    """The services on the configured database; nothing is asked of the database yet."""
    database = connect(settings.mongodb_url, settings.mongodb_database, timeout_ms=settings.mongodb_timeout_ms)
    cursors = CursorCodec(_cursor_secret(settings))
    replay = database.feed.replay if database.feed is not None else functools.partial(replay_changes, database)
    return Services(
        settings=settings,
        database=database,
        store=InstanceStore(database, cursors),
        changes=InstanceChanges(database),
        party_roles=PartyRoles(database),
        verifier=verifier,
        policies=policies,
        live=ChangeHub(
            settings.subscription_queue_size,
            open_timeout_s=settings.mongodb_timeout_ms / 1000,
            resumption=Resumption(cursors, replay, settings.subscription_replay_limit),
        ),
    )


async def prepare_database(services: Services, seed: Seeder | None) -> None:
    """What the database needs before serving; each step is safe to repeat after a failure."""
    with preparation_timeout():
        await ensure_indexes(services.database)
        recovered = await services.changes.flush_pending_events()
        if recovered:
            log.warning("recorded %d audit events of changes interrupted before they were recorded", recovered)
        if seed is not None:
            await seed(services.database)


def create_app(settings: Settings, *, seed: Seeder | None = None) -> Starlette:
    """The gateway for these settings; `seed` fills the store once it is open. Raises
    ConfigurationError or PolicyError at once for settings it cannot run with."""
    metrics = Metrics()
    verifier = token_verifier(settings, metrics.key_fetch_failures.inc)
    policies = load_policies(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = open_services(settings, verifier, policies)
        readiness = Readiness(
            services.database,
            lambda: prepare_database(services, seed),
            settings.readiness_timeout_ms,
            lambda: services.changes.recording_failure,
        )
        await readiness.start()
        following = asyncio.create_task(services.live.run(services.follow_changes), name="change-hub")
        regranting = asyncio.create_task(
            follow_grants(services.live, services.follow_grant_changes, services.access_of), name="grant-follower"
        )
        recording = asyncio.create_task(services.changes.keep_recording(), name="audit-outbox")
        metrics.sample(metrics.open_subscriptions, lambda: services.live.subscriber_count)
        metrics.sample(metrics.unbounded_subscriptions, lambda: services.live.unbounded_subscriber_count)
        metrics.sample(metrics.unrecorded_instances, lambda: services.changes.unrecorded_instances)
        app.state.services, app.state.readiness = services, readiness
        try:
            yield
        finally:
            # The server has let in-flight requests finish before it ends the lifespan.
            await services.stop_following(following, regranting)
            recording.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recording
            await readiness.stop()
            await services.database.close()
            log.info("stopped: the database client is closed")

    documents = PersistedDocuments.from_settings(settings)  # one APQ store for HTTP and WebSocket
    schema = build_schema(settings, documents.trusted.values())
    graphql: Any = GraphQLView(schema, settings, documents)
    app = Starlette(
        routes=[
            Route("/graphql", graphql),  # any method: the view answers 405 in GraphQL's shape
            WebSocketRoute("/graphql", GraphQLWebSocket(schema, settings, documents)),
            *([graphiql_static()] if settings.graphiql else []),
            *operations_routes(),
            *rest_routes(),  # Altinn Storage's own REST calls
        ],
        middleware=[Middleware(Observability, metrics=metrics)],
        exception_handlers={HTTPException: unrouted},
        lifespan=lifespan,
    )
    # Each resource has one URL: /graphql/ is not found rather than redirected (a redirect has no
    # JSON body, and a client that does not follow it would see none).
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.metrics = metrics
    allow_cross_origin(app, settings.cors_origins, METHODS)
    return app
