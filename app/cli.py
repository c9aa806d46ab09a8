"""The `instance-gateway` command: serve, import, export-schema, token."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from app.config import Settings
from app.importer import Batch, read_instances, read_party_roles

DEMO_DATA = files("app") / "demo"


def _print_errors(batch: Batch, what: str) -> None:
    for warning in batch.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in batch.errors:
        print(f"error: {error}", file=sys.stderr)
    if batch.errors:
        print(f"{len(batch.errors)} {what} not loaded", file=sys.stderr)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.authorization.policy import PolicyError
    from app.http.app import create_app
    from app.http.authentication import ConfigurationError
    from app.store.writes import write_all

    if not settings.embedded and (args.load or args.load_roles or args.demo):
        print(
            "error: --load, --load-roles and --demo fill the embedded store only; "
            "with GATEWAY_MONGODB_URL set, use `instance-gateway import`",
            file=sys.stderr,
        )
        return 2
    instance_paths = [*([DEMO_DATA / "instances.json"] if args.demo else []), *args.load]
    role_paths = [*([DEMO_DATA / "party-roles.json"] if args.demo else []), *args.load_roles]
    instances, roles = read_instances(instance_paths), read_party_roles(role_paths)
    _print_errors(instances, "documents")
    _print_errors(roles, "role grants")
    if instances.errors or roles.errors:
        return 1
    try:
        app = create_app(settings, seed=lambda db: write_all(db, instances.documents, roles.documents))
    except (ConfigurationError, PolicyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if settings.embedded:
        print(
            f"instance-gateway: embedded in-memory store (no GATEWAY_MONGODB_URL); "
            f"{len(instances.documents)} instances, {len(roles.documents)} role grants loaded"
        )
    print(f"instance-gateway: GraphiQL at http://{args.host}:{args.port}/graphql")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from app.errors import ServiceUnavailable
    from app.store.database import connect, ensure_indexes
    from app.store.writes import write_all

    if settings.embedded:
        print(
            "error: import writes to MongoDB: set GATEWAY_MONGODB_URL "
            "(the embedded store takes `serve --load` instead)",
            file=sys.stderr,
        )
        return 2
    instances = read_instances(args.paths)
    _print_errors(instances, "documents")

    async def write() -> int:
        database = connect(settings.mongodb_url, settings.mongodb_database)
        try:
            await ensure_indexes(database)
            return await write_all(database, instances.documents, [])
        finally:
            await database.close()

    try:
        written = asyncio.run(write())
    except ServiceUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    print(f"imported {written} instances into {settings.mongodb_database}.instances")
    return 1 if instances.errors else 0


def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from app.graphql.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from app.authorization.tokens import DEVELOPMENT_SECRET, mint_token

    if not settings.jwt_secret and not settings.embedded:
        print("error: set GATEWAY_JWT_SECRET to mint tokens for this gateway", file=sys.stderr)
        return 2
    if (args.org is None) == (args.user is None):
        print("error: give --org ORG (a service owner) or --user ID --party ID (an end user)", file=sys.stderr)
        return 2
    try:
        token = mint_token(
            secret=settings.jwt_secret or DEVELOPMENT_SECRET,
            org=args.org,
            org_number=args.org_number,
            user_id=args.user,
            party_id=args.party,
            scopes=args.scope.split() if args.scope else None,
            auth_level=args.authlevel,
            ttl_seconds=args.ttl,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="instance-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the GraphQL API (GraphiQL at /graphql)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the built-in demo data set")
    serve.add_argument(
        "--load",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="load instances (JSON, JSON array, NDJSON, or a folder) into the embedded store",
    )
    serve.add_argument(
        "--load-roles",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="load party roles ({userId, partyId, roles}) into the embedded store",
    )
    serve.set_defaults(run=_serve)
    importing = commands.add_parser("import", help="upsert instance files into the configured MongoDB")
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    importing.set_defaults(run=_import)
    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(run=_export_schema)
    token = commands.add_parser(
        "token",
        help="mint a development token signed with GATEWAY_JWT_SECRET (embedded: the development secret)",
        epilog='In GraphiQL, open Headers and add {"Authorization": "Bearer <token>"}.',
    )
    token.add_argument("--org", help="a service owner, e.g. ttd")
    token.add_argument("--org-number", help="the service owner's organisation number, e.g. 991825827")
    token.add_argument("--user", help="an end user's user id, e.g. 1")
    token.add_argument("--party", help="the party the end user acts for, e.g. 1337")
    token.add_argument("--scope", help="space-separated scopes (default: read and write for the caller's kind)")
    token.add_argument("--authlevel", type=int, default=3, help="authentication level 0-4 (default 3)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    token.set_defaults(run=_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    return args.run(args, Settings())


if __name__ == "__main__":
    sys.exit(main())
