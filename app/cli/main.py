"""The command line: its commands, their options and help, and the settings they run with."""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cli.data import export_instances, import_instances, purge_instances
from app.cli.documents import build_trusted_documents, export_openapi, export_schema
from app.cli.serve import DEV_SECRET_ON_NETWORK, serve
from app.cli.tokens import auth_level, mint
from app.config import SettingsError, read_settings

SUMMARY = (
    "The `instance-gateway` command: serve, import, export, purge, export-schema, export-openapi, "
    "token, trusted-documents."
)
INSTANCE_FILES = "a JSON object, a JSON array, NDJSON, or a folder of .json files"
ROLE_FILES = "{userId, partyId, roles: [...]} documents, or Altinn's roles/user_{id}/party_{id}/roles.json folders"


def positive(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


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


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instance-gateway",
        description=f"{SUMMARY} Settings come from GATEWAY_* environment variables or a .env file (see README).",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="`instance-gateway COMMAND --help` explains each"
    )

    serving = _command(
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
    serving.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: %(default)s, this machine only; 0.0.0.0 for every interface)",
    )
    serving.add_argument(
        "--port", type=int, default=8000, help="the TCP port to listen on (default: %(default)s; 0: any free one)"
    )
    serving.add_argument(
        "--workers",
        type=positive,
        help="processes serving the port, each with its own database client, change stream and caches: one "
        "a core (default: GATEWAY_WORKERS, else 1); more than one needs GATEWAY_MONGODB_URL",
    )
    serving.add_argument(
        DEV_SECRET_ON_NETWORK,
        action="store_true",
        help="listen beyond this machine (--host) even with the published development secret: anyone who "
        "reaches the gateway can then mint tokens",
    )
    serving.add_argument(
        "--demo",
        action="store_true",
        help="load the built-in demo data set (app/demo: instances and party roles) into the embedded store",
    )
    _paths_option(serving, "--load", f"instances to load into the embedded store: {INSTANCE_FILES}")
    _paths_option(
        serving,
        "--load-roles",
        f"party roles (who may act for which party) to load into the embedded store: {ROLE_FILES}",
    )
    serving.set_defaults(run=serve)

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
    importing.set_defaults(run=import_instances)

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
    exporting.set_defaults(run=export_instances)

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
    purge.set_defaults(run=purge_instances)

    export = _command(
        commands,
        "export-schema",
        "print the GraphQL schema (SDL) to standard output",
        "The schema the gateway serves, for clients and code generators. It takes no arguments.",
        "  instance-gateway export-schema > schema.graphql",
    )
    export.set_defaults(run=export_schema)

    openapi = _command(
        commands,
        "export-openapi",
        "print the OpenAPI 3.1 document of the REST endpoints (Altinn Storage's calls) to standard output",
        "The document the gateway serves at /storage/api/v1/openapi.json, for clients and code\n"
        "generators. It takes no arguments.",
        "  instance-gateway export-openapi > openapi.json",
    )
    openapi.set_defaults(run=export_openapi)

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
        "--authlevel", type=auth_level, default=3, help="the authentication level, 0-4 (default: %(default)s)"
    )
    token.add_argument("--ttl", type=positive, default=3600, help="seconds until it expires (default: %(default)s)")
    token.set_defaults(run=mint)

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
    build.set_defaults(run=build_trusted_documents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        settings = read_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return args.run(args, settings)
