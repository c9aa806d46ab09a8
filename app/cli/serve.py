"""`instance-gateway serve`: the gateway on a port, one process or several."""

import argparse
import contextlib
import gc
import logging.config
import sys
from importlib.resources import files
from typing import TYPE_CHECKING

from app.cli.on_database import print_errors, unusable_url
from app.config import Settings, read_settings
from app.importer import read_instances, read_party_roles

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from app.store.database import Database

DEMO_DATA = files("app") / "demo"
DEV_SECRET_ON_NETWORK = "--allow-dev-secret-on-network"


def collect_rarely() -> None:
    # A full collection walks every object alive, a thousand subscribers' connections and tasks
    # included; one every 100 of the default interval cut a change's cost to 1,000 subscribers
    # of as many callers from 0.78 to 0.33 s of CPU, and its p99 latency from 2.6 to 0.36 s
    # (benchmarks/subscriptions.py). The young generations, which free a request's garbage,
    # keep their defaults.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)


async def keep_out_of_collections(database: "Database") -> None:
    # Preparing the database is the last of start-up. What it built, the embedded store's
    # documents included, lives as long as the process: out of the collector's sight, so
    # that a full collection during a request walks only what requests made.
    gc.freeze()


def worker_app() -> "Starlette":
    """The gateway of one worker process of `serve --workers`, on the settings `serve` checked."""
    from app.composition import create_app

    collect_rarely()
    return create_app(read_settings(), seed=keep_out_of_collections)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.authorization.policy import PolicyError
    from app.composition import create_app
    from app.http.authentication import ConfigurationError, uses_development_secret
    from app.http.listening import is_loopback, listening_socket
    from app.http.server import server_protocols
    from app.http.workers import serve_workers
    from app.logs import LOG_CONFIG
    from app.store.database import Database
    from app.store.writes import write_all

    logging.config.dictConfig(LOG_CONFIG)  # before create_app, so that its warnings are JSON too
    workers = args.workers or settings.workers
    if not settings.embedded and (args.load or args.load_roles or args.demo):
        print(
            "error: --load, --load-roles and --demo fill the embedded store only; "
            "with GATEWAY_MONGODB_URL set, use `instance-gateway import`",
            file=sys.stderr,
        )
        return 2
    if settings.embedded and workers > 1:
        print(
            f"error: {workers} workers need GATEWAY_MONGODB_URL: on the embedded store each worker "
            "would hold in-memory data of its own, and a request's answer would depend on the worker "
            "it reached; serve it with one worker (--workers 1)",
            file=sys.stderr,
        )
        return 2
    if unusable_url(settings):
        return 2
    if uses_development_secret(settings) and not is_loopback(args.host) and not args.allow_dev_secret_on_network:
        print(
            f"error: on the embedded store tokens are checked against the published development secret, "
            f"so anyone who reaches {args.host} could mint them: set GATEWAY_JWT_SECRET, listen on "
            f"127.0.0.1, or pass {DEV_SECRET_ON_NETWORK} to serve it on the network anyway",
            file=sys.stderr,
        )
        return 2
    instance_paths = [*([DEMO_DATA / "instances.json"] if args.demo else []), *args.load]
    role_paths = [*([DEMO_DATA / "party-roles.json"] if args.demo else []), *args.load_roles]
    instances, roles = read_instances(instance_paths), read_party_roles(role_paths)
    print_errors(instances, "documents")  # as `import` does: the valid ones are served
    print_errors(roles, "role grants")

    async def seed(database: Database) -> None:
        await write_all(database, instances.documents, roles.documents, instances.events)
        await keep_out_of_collections(database)

    try:
        # Each worker builds its own (worker_app); this one is then only the check of the settings.
        app = create_app(settings, seed=seed)
    except (ConfigurationError, PolicyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        # Before anything says it serves: a port in use fails here.
        listening = listening_socket(args.host, args.port)
    except OSError as error:
        print(f"error: cannot listen on {args.host} port {args.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    if settings.embedded:
        print(
            f"instance-gateway: embedded in-memory store (no GATEWAY_MONGODB_URL); "
            f"{len(instances.documents)} instances, {len(roles.documents)} role grants loaded"
        )
    if workers > 1:
        print(f"instance-gateway: {workers} worker processes, each with its own database client and caches")
    # Flushed: a pipe would hold it back until exit, behind every log line of the server.
    print(f"instance-gateway: GraphiQL at http://{args.host}:{listening.getsockname()[1]}/graphql", flush=True)
    # JSON logs; each request's line comes from the gateway, so uvicorn's access log is off.
    config = uvicorn.Config(
        app if workers == 1 else "app.cli.serve:worker_app",
        factory=workers > 1,
        workers=workers,
        log_level="info",
        log_config=LOG_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        **server_protocols(settings),  # h11 with timeouts for slow clients, no smuggling; WebSocket
    )
    if workers > 1:
        return serve_workers(config, listening)
    collect_rarely()
    # Stopped by Ctrl+C, the server raises it again once it has shut down (as uvicorn.run does).
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[listening])
    return 0
