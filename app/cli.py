"""The `instance-gateway` command: serve, import, export, purge, export-schema, export-openapi,
token, trusted-documents."""

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import logging.config
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from app.config import Settings, SettingsError, read_settings
from app.importer import Batch, read_instances, read_party_roles

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from app.store.database import Database, Upserts
    from app.store.writes import Written

DEMO_DATA = files("app") / "demo"
DEV_SECRET_ON_NETWORK = "--allow-dev-secret-on-network"
T = TypeVar("T")


def _print_errors(batch: Batch, what: str) -> None:
    for warning in batch.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in batch.errors:
        print(f"error: {error}", file=sys.stderr)
    if batch.errors:
        print(f"{len(batch.errors)} {what} not loaded", file=sys.stderr)


def _unusable_url(settings: Settings) -> bool:
    """Whether GATEWAY_MONGODB_URL is set but no URL the driver can use; if so, it says why."""
    from app.store.urls import url_problem

    problem = url_problem(settings.mongodb_url) if settings.mongodb_url else None
    if problem is not None:
        print(f"error: GATEWAY_MONGODB_URL is not a usable MongoDB URL: {problem}", file=sys.stderr)
    return problem is not None


def _without_mongodb(settings: Settings, refusal: str, embedded_instead: str) -> bool:
    """Whether a command on MongoDB cannot run, no usable GATEWAY_MONGODB_URL being set; if so, it says why."""
    if settings.embedded:
        print(f"error: {refusal}: set GATEWAY_MONGODB_URL ({embedded_instead})", file=sys.stderr)
        return True
    return _unusable_url(settings)


class _DatabaseFailed(Exception):
    """The configured MongoDB failed; the message names it and the cause."""


def _on_database(settings: Settings, work: "Callable[[Database], Awaitable[T]]") -> T:
    """`work` on the configured MongoDB, which is closed after it. Raises _DatabaseFailed."""
    from app.errors import ServiceUnavailable
    from app.store.database import connect

    async def run() -> T:
        database = connect(settings.mongodb_url, settings.mongodb_database)
        try:
            return await work(database)
        except ServiceUnavailable as error:
            raise _DatabaseFailed(database.describe_failure(error)) from error
        finally:
            await database.close()

    return asyncio.run(run())


def _collect_rarely() -> None:
    # A full collection walks every object alive, a thousand subscribers' connections and tasks
    # included; one every 100 of the default interval cut a change's cost to 1,000 subscribers
    # of as many callers from 0.78 to 0.33 s of CPU, and its p99 latency from 2.6 to 0.36 s
    # (benchmarks/subscriptions.py). The young generations, which free a request's garbage,
    # keep their defaults.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)


async def _keep_out_of_collections(database: "Database") -> None:
    # Preparing the database is the last of start-up. What it built, the embedded store's
    # documents included, lives as long as the process: out of the collector's sight, so
    # that a full collection during a request walks only what requests made.
    gc.freeze()


def worker_app() -> "Starlette":
    """The gateway of one worker process of `serve --workers`, on the settings `serve` checked."""
    from app.composition import create_app

    _collect_rarely()
    return create_app(read_settings(), seed=_keep_out_of_collections)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
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
    if _unusable_url(settings):
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
    _print_errors(instances, "documents")  # as `import` does: the valid ones are served
    _print_errors(roles, "role grants")

    async def seed(database: Database) -> None:
        await write_all(database, instances.documents, roles.documents, instances.events)
        await _keep_out_of_collections(database)

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
        app if workers == 1 else "app.cli:worker_app",
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
    _collect_rarely()
    # Stopped by Ctrl+C, the server raises it again once it has shut down (as uvicorn.run does).
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[listening])
    return 0


def _upserted(upserts: "Upserts", what: str, where: str) -> str:
    total = upserts.inserted + upserts.updated + upserts.unchanged
    changes = f"{upserts.inserted} inserted, {upserts.updated} updated, {upserts.unchanged} unchanged"
    return f"imported {total} {what} into {where}: {changes}"


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from app.store.database import ensure_indexes
    from app.store.writes import write_all

    if not args.paths and not args.roles:
        print("error: give instance files (PATH ...), party roles (--roles PATH), or both", file=sys.stderr)
        return 2
    if _without_mongodb(settings, "import writes to MongoDB", "the embedded store takes `serve --load` instead"):
        return 2
    instances, roles = read_instances(args.paths), read_party_roles(args.roles)
    _print_errors(instances, "documents")
    _print_errors(roles, "role grants")

    async def write(database: "Database") -> "Written":
        await ensure_indexes(database)
        return await write_all(database, instances.documents, roles.documents, instances.events)

    try:
        written = _on_database(settings, write)
    except _DatabaseFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    if args.paths:
        print(_upserted(written.instances, "instances", f"{settings.mongodb_database}.instances"))
    if args.roles:
        print(_upserted(written.grants, "role grants", f"{settings.mongodb_database}.partyRoles"))
    if instances.events:
        print(_upserted(written.events, "audit events", f"{settings.mongodb_database}.instanceEvents"))
    return 1 if instances.errors or roles.errors else 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from app.errors import BadUserInput
    from app.exporter import Exported, export, replacing
    from app.graphql.filter_json import instance_filter_from_json

    if _without_mongodb(settings, "export reads from MongoDB", "the embedded store keeps nothing past its process"):
        return 2
    try:
        instance_filter = None if args.filter is None else instance_filter_from_json(json.loads(args.filter), settings)
    except json.JSONDecodeError as error:
        print(f"error: --filter is not JSON: {error}", file=sys.stderr)
        return 2
    except BadUserInput as error:
        print(f"error: --filter: {error.message}", file=sys.stderr)
        return 2
    # On standard output, the progress goes to a terminal alone: elsewhere (2>&1, say) its
    # lines could end up among the documents.
    show_progress = args.output is not None or (sys.stderr.isatty() and not sys.stdout.isatty())

    async def run(database: "Database") -> Exported:
        with replacing(args.output) if args.output else contextlib.nullcontext(sys.stdout.buffer) as out:
            return await export(
                database, out, instance_filter=instance_filter, with_events=args.events, show_progress=show_progress
            )

    where = args.output or "standard output"
    # What a failure leaves: the file as it was; standard output what was written by then.
    left = f"; {args.output} is as it was" if args.output else ""
    try:
        exported = _on_database(settings, run)
    except _DatabaseFailed as error:
        print(f"error: {error}{left}", file=sys.stderr)
        return 3
    except BadUserInput as error:  # the database refused the filter
        print(f"error: --filter: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write to {where}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted{left}", file=sys.stderr)
        return 130
    events = f" and {exported.events} of their audit events" if args.events else ""
    print(
        f"exported {exported.instances} instances{events} from {settings.mongodb_database} to {where}",
        file=sys.stderr,
    )
    return 0


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    from app.progress import Progress
    from app.store.purge import Purge
    from app.timestamps import utc_now

    if _without_mongodb(
        settings, "purge removes instances from MongoDB", "the embedded store keeps nothing past its process anyway"
    ):
        return 2

    async def run(database: "Database") -> tuple[int, int, int]:
        """How many instances went (or would go), how many events went, how many stayed."""
        purge = Purge(database, utc_now())
        progress = Progress("checking" if args.dry_run else "purging", await purge.count())
        purged = events = stayed = 0
        try:
            async for batch in purge.batches():
                for instance_id in batch:
                    removed = 0 if args.dry_run else await purge.remove(instance_id)
                    if removed is None:
                        stayed += 1
                    else:
                        purged, events = purged + 1, events + removed
                        progress.print(instance_id)
                    progress.advance()
        finally:
            progress.close()
        return purged, events, stayed

    try:
        purged, events, stayed = _on_database(settings, run)
    except _DatabaseFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    database = settings.mongodb_database
    if args.dry_run:
        print(f"dry run: {purged} instances would be purged from {database}; nothing was changed", file=sys.stderr)
    else:
        print(
            f"purged {purged} instances from {database}.instances and their {events} events from "
            f"{database}.instanceEvents",
            file=sys.stderr,
        )
    if stayed:
        print(f"{stayed} instances were being changed and stay for the next run", file=sys.stderr)
    return 0


def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from app.graphql.schema import build_schema

    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def _export_openapi(args: argparse.Namespace, settings: Settings) -> int:
    from app.rest.openapi import openapi_text

    sys.stdout.write(openapi_text())
    return 0


def _token_refusal(args: argparse.Namespace, settings: Settings) -> str | None:
    """What is wrong with the options or the secret, named as the user gives them."""
    from app.authorization.identity import MIN_HS256_SECRET_BYTES, is_uuid

    if not settings.jwt_secret and not settings.embedded:
        return "set GATEWAY_JWT_SECRET to mint tokens for this gateway"
    if settings.jwt_secret and len(settings.jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
        return f"GATEWAY_JWT_SECRET is too short to sign tokens: it needs at least {MIN_HS256_SECRET_BYTES} bytes"
    if sum(who is not None for who in (args.org, args.user, args.system_user)) != 1:
        return (
            "give --org ORG (a service owner), --user ID --party ID (an end user) "
            "or --system-user UUID --system-user-org ORGNO (a system user)"
        )
    if args.user is not None and args.party is None:
        return "--user needs --party ID: the party the user acts for, usually their own"
    if args.user is None and args.party is not None:
        return "--party goes with --user (an end user)"
    if args.org is None and args.org_number is not None:
        return "--org-number goes with --org (a service owner)"
    if (args.system_user is None) != (args.system_user_org is None):
        return "--system-user needs --system-user-org ORGNO (the organisation that owns it), and only it"
    if args.system_user is not None and not is_uuid(args.system_user):
        return f"--system-user must be the system user's id, a UUID, not {args.system_user!r}"
    return None


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from app.authorization.tokens import DEVELOPMENT_SECRET, mint_token

    refusal = _token_refusal(args, settings)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    token = mint_token(
        secret=settings.jwt_secret or DEVELOPMENT_SECRET,
        org=args.org,
        org_number=args.org_number,
        user_id=args.user,
        party_id=args.party,
        system_user_id=args.system_user,
        system_user_org_number=args.system_user_org,
        scopes=args.scope.split() if args.scope is not None else None,
        sync_adapter=args.sync_adapter,
        scope_claim=args.scope_claim,
        auth_level=args.authlevel,
        ttl_seconds=args.ttl,
    )
    print(token)
    return 0


def _build_trusted_documents(args: argparse.Namespace, settings: Settings) -> int:
    from app.graphql.trusted_documents import ManifestError, build_manifest, graphql_sources

    try:
        manifest = build_manifest(graphql_sources(args.paths))
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"error: {args.output} cannot be written: {error.strerror or error}", file=sys.stderr)
            return 2
    print(f"{len(manifest['operations'])} operations in the manifest", file=sys.stderr)
    return 0


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def _auth_level(value: str) -> int:
    from app.authorization.identity import MAX_AUTH_LEVEL, MIN_AUTH_LEVEL

    if not value.isdigit() or not MIN_AUTH_LEVEL <= int(value) <= MAX_AUTH_LEVEL:
        raise argparse.ArgumentTypeError(f"{value!r} is not a level from {MIN_AUTH_LEVEL} to {MAX_AUTH_LEVEL}")
    return int(value)


INSTANCE_FILES = "a JSON object, a JSON array, NDJSON, or a folder of .json files"
ROLE_FILES = "{userId, partyId, roles: [...]} documents, or Altinn's roles/user_{id}/party_{id}/roles.json folders"


def _command(commands: Any, name: str, summary: str, details: str, examples: str) -> argparse.ArgumentParser:
    # Raw formatting keeps the examples one command a line; `summary` is the line in the command list.
    return commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{details}",
        epilog=f"examples:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _paths_option(command: argparse.ArgumentParser, flag: str, what: str) -> None:
    """An option naming files or folders, given once per path."""
    command.add_argument(flag, action="append", default=[], type=Path, metavar="PATH", help=f"{what}; repeat for more")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instance-gateway",
        description=f"{__doc__} Settings come from GATEWAY_* environment variables or a .env file (see README).",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="`instance-gateway COMMAND --help` explains each"
    )

    serve = _command(
        commands,
        "serve",
        "serve the GraphQL API over HTTP, with GraphiQL at http://HOST:PORT/graphql",
        "Without GATEWAY_MONGODB_URL it runs on an embedded in-memory store that starts empty\n"
        "and is lost on exit: fill it with --demo, --load and --load-roles. Invalid documents\n"
        "are reported with file and line, as `import` reports them, and the valid ones served.\n"
        "With GATEWAY_MONGODB_URL it serves that database; fill it with `instance-gateway import`.\n\n"
        "Without GATEWAY_JWT_SECRET the embedded store checks tokens against a published\n"
        f"development secret, so it listens beyond this machine only with {DEV_SECRET_ON_NETWORK}.\n\n"
        "Exit status: 2 it cannot start (settings, policies, the address or port).",
        "  instance-gateway serve --demo\n"
        "  instance-gateway serve --load app/demo/instances.json --load-roles app/demo/party-roles.json\n"
        "  GATEWAY_JWT_SECRET=$(openssl rand -hex 32) instance-gateway serve --demo --host 0.0.0.0 --port 8080",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: %(default)s, this machine only; 0.0.0.0 for every interface)",
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="the TCP port to listen on (default: %(default)s; 0: any free one)"
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        help="processes serving the port, each with its own database client, change stream and caches: one "
        "a core (default: GATEWAY_WORKERS, else 1); more than one needs GATEWAY_MONGODB_URL",
    )
    serve.add_argument(
        DEV_SECRET_ON_NETWORK,
        action="store_true",
        help="listen beyond this machine (--host) even with the published development secret: anyone who "
        "reaches the gateway can then mint tokens",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load the built-in demo data set (app/demo: instances and party roles) into the embedded store",
    )
    _paths_option(serve, "--load", f"instances to load into the embedded store: {INSTANCE_FILES}")
    _paths_option(
        serve,
        "--load-roles",
        f"party roles (who may act for which party) to load into the embedded store: {ROLE_FILES}",
    )
    serve.set_defaults(run=_serve)

    importing = _command(
        commands,
        "import",
        "upsert instances and party roles from files into the MongoDB at GATEWAY_MONGODB_URL",
        "Writes to the database GATEWAY_MONGODB_DATABASE (default: instances) and creates the\n"
        "indexes the gateway needs. Instances are upserted by id, role grants by userId and\n"
        "partyId, so importing the same files twice leaves one copy of each; it says how many\n"
        "it inserted, updated and left unchanged. Invalid documents, and text that is no JSON,\n"
        "are reported with file and line and not written; every valid one is written.\n\n"
        "Exit status: 0 all written, 1 some documents invalid (the valid ones are written),\n"
        "2 nothing to import or no usable GATEWAY_MONGODB_URL, 3 the database is unreachable.",
        "  export GATEWAY_MONGODB_URL=mongodb://localhost:27017\n"
        "  instance-gateway import app/demo/instances.json --roles app/demo/party-roles.json\n"
        "  instance-gateway import --roles app/demo/party-roles.json",
    )
    importing.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=f"instances to upsert: {INSTANCE_FILES} (optional when --roles is given)",
    )
    _paths_option(importing, "--roles", f"party roles (who may act for which party) to upsert: {ROLE_FILES}")
    importing.set_defaults(run=_import)

    exporting = _command(
        commands,
        "export",
        "write the instances in the MongoDB at GATEWAY_MONGODB_URL as NDJSON that `import` reads back",
        "Every stored instance, hard-deleted ones included (it is a backup), or those that meet\n"
        "--filter, one a line as stored: in canonical Extended JSON, so that dates, int64s and\n"
        "odd old values keep their types, and with the gateway's own fields, such as audit events\n"
        "not yet recorded. With --events, each instance's audit events follow it. `import`\n"
        "stores it all again exactly as it was, `_id` aside. It streams: any number of instances\n"
        "in little memory. --output appears whole once the export is complete, never in part.\n\n"
        "Progress and the summary go to standard error.\n\n"
        "Exit status: 0 written, 2 a bad --filter, no usable GATEWAY_MONGODB_URL or --output\n"
        "cannot be written, 3 the database is unreachable.",
        "  export GATEWAY_MONGODB_URL=mongodb://localhost:27017\n"
        "  instance-gateway export --events --output backup-$(date +%F).ndjson\n"
        '  instance-gateway export --filter \'{"appId": {"eq": "ttd/skjema-a"}, "status": {"isSoftDeleted": true}}\'\n'
        "  GATEWAY_MONGODB_DATABASE=other instance-gateway import backup-2024-05-01.ndjson",
    )
    exporting.add_argument(
        "--filter",
        metavar="JSON",
        help="only the instances that meet it: an InstanceFilter of the GraphQL API, as JSON "
        "(hard-deleted instances are in unless it says otherwise)",
    )
    exporting.add_argument("--output", type=Path, metavar="PATH", help="the file to write (default: standard output)")
    exporting.add_argument(
        "--events", action="store_true", help="also each exported instance's audit events (instanceEvents)"
    )
    exporting.set_defaults(run=_export)

    purge = _command(
        commands,
        "purge",
        "physically remove hard-deleted instances, and their events, whose retention has passed",
        "Altinn's retention rule for the MongoDB at GATEWAY_MONGODB_URL: a hard-deleted instance\n"
        "that is not archived goes at once; an archived one goes once it has been hard-deleted\n"
        "for 7 days and its app owner (the instance's org) confirmed it complete 7 days ago or\n"
        "more. Soft-deleted instances (the recycle bin) stay. Each instance's audit trail\n"
        "(instanceEvents) goes first, then the instance, so that a rerun finishes what an\n"
        "interrupted run left. Run it as often as you like, e.g. daily.\n\n"
        "The ids of the instances purged (or, with --dry-run, to be purged) go to standard\n"
        "output, one a line; progress and the summary to standard error.\n\n"
        "Exit status: 0 done, 2 no usable GATEWAY_MONGODB_URL, 3 the database is unreachable.",
        "  export GATEWAY_MONGODB_URL=mongodb://localhost:27017\n"
        "  instance-gateway purge --dry-run\n"
        "  instance-gateway purge > purged-$(date +%F).txt",
    )
    purge.add_argument(
        "--dry-run",
        action="store_true",
        help="only list the instances that would be purged; change nothing",
    )
    purge.set_defaults(run=_purge)

    export = _command(
        commands,
        "export-schema",
        "print the GraphQL schema (SDL) to standard output",
        "The schema the gateway serves, for clients and code generators. It takes no arguments.",
        "  instance-gateway export-schema > schema.graphql",
    )
    export.set_defaults(run=_export_schema)

    export_openapi = _command(
        commands,
        "export-openapi",
        "print the OpenAPI 3.1 document of the REST endpoints (Altinn Storage's calls) to standard output",
        "The document the gateway serves at /storage/api/v1/openapi.json, for clients and code\n"
        "generators. It takes no arguments.",
        "  instance-gateway export-openapi > openapi.json",
    )
    export_openapi.set_defaults(run=_export_openapi)

    token = _command(
        commands,
        "token",
        "mint a development token signed with GATEWAY_JWT_SECRET (embedded: the development secret)",
        "Give --org for a service owner, --user and --party for an end user, or --system-user\n"
        "and --system-user-org for a system user. In GraphiQL, open Headers and add\n"
        '{"Authorization": "Bearer <token>"}.',
        "  instance-gateway token --org ttd --org-number 991825827\n"
        "  instance-gateway token --user 1 --party 1 --authlevel 2\n"
        "  instance-gateway token --system-user 5d1d5f2a-6c1e-4b8e-9f5e-0c6a2f3b7d10 --system-user-org 310000001\n"
        "  instance-gateway token --org digdir --scope '' --sync-adapter",
    )
    token.add_argument("--org", help="mint it for a service owner: its short name, e.g. ttd")
    token.add_argument("--org-number", help="the service owner's organisation number, e.g. 991825827 (optional)")
    token.add_argument("--user", help="mint it for an end user: the user id, e.g. 1 (needs --party)")
    token.add_argument("--party", help="the party the end user acts for, usually their own, e.g. 1")
    token.add_argument("--system-user", help="mint it for a system user: its id, a UUID (needs --system-user-org)")
    token.add_argument("--system-user-org", help="the organisation number of the system user's owner")
    token.add_argument(
        "--scope",
        help='space-separated scopes, e.g. "altinn:serviceowner/instances.read" (default: a service owner both '
        "serviceowner scopes, an end user altinn:portal/enduser, a system user none)",
    )
    token.add_argument(
        "--sync-adapter", action="store_true", help="add the sync adapter's scope, altinn:storage/instances.syncadapter"
    )
    token.add_argument(
        "--scope-claim",
        choices=["scope", "urn:altinn:scope"],
        default="scope",
        help="the claim the scopes go in (default: %(default)s; Altinn reads urn:altinn:scope first)",
    )
    token.add_argument(
        "--authlevel", type=_auth_level, default=3, help="the authentication level, 0-4 (default: %(default)s)"
    )
    token.add_argument("--ttl", type=_positive, default=3600, help="seconds until it expires (default: %(default)s)")
    token.set_defaults(run=_token)

    trusted = _command(
        commands,
        "trusted-documents",
        "work with manifests of trusted documents (GATEWAY_TRUSTED_DOCUMENTS)",
        "`instance-gateway trusted-documents build --help` explains the one action.",
        "  instance-gateway trusted-documents build src/graphql --output persisted-query-manifest.json",
    )
    build = _command(
        trusted.add_subparsers(dest="action", required=True, metavar="ACTION", help="build: the one action"),
        "build",
        "build Apollo's persisted-query manifest from .graphql files",
        "One entry each named operation: its id the SHA-256 of its body, the body the operation\n"
        "and every fragment it uses, from any of the files. Give the gateway the manifest as\n"
        'GATEWAY_TRUSTED_DOCUMENTS; clients name an entry by documentId "sha256:<id>".\n\n'
        "Exit status: 0 written, 2 a file unreadable, not GraphQL, or an operation unnamed,\n"
        "named twice or using a fragment no file defines, or the output unwritable.",
        "  instance-gateway trusted-documents build queries/*.graphql --output manifest.json\n"
        "  instance-gateway trusted-documents build src/graphql > persisted-query-manifest.json",
    )
    build.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=".graphql files, or folders of them")
    build.add_argument("--output", type=Path, help="the manifest file to write (default: standard output)")
    build.set_defaults(run=_build_trusted_documents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        settings = read_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
