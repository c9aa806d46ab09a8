"""`import`, `export` and `purge`: the commands that move instances into and out of MongoDB."""

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from app.cli.on_database import DatabaseFailed, on_database, print_errors, upserted, without_mongodb
from app.config import Settings
from app.importer import read_instances, read_party_roles

if TYPE_CHECKING:
    from app.store.database import Database
    from app.store.writes import Written


def import_instances(args: argparse.Namespace, settings: Settings) -> int:
    from app.store.database import ensure_indexes
    from app.store.writes import write_all

    if not args.paths and not args.roles:
        print("error: give instance files (PATH ...), party roles (--roles PATH), or both", file=sys.stderr)
        return 2
    if without_mongodb(settings, "import writes to MongoDB", "the embedded store takes `serve --load` instead"):
        return 2
    instances, roles = read_instances(args.paths), read_party_roles(args.roles)
    print_errors(instances, "documents")
    print_errors(roles, "role grants")

    async def write(database: "Database") -> "Written":
        await ensure_indexes(database)
        return await write_all(database, instances.documents, roles.documents, instances.events)

    try:
        written = on_database(settings, write)
    except DatabaseFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    if args.paths:
        print(upserted(written.instances, "instances", f"{settings.mongodb_database}.instances"))
    if args.roles:
        print(upserted(written.grants, "role grants", f"{settings.mongodb_database}.partyRoles"))
    if instances.events:
        print(upserted(written.events, "audit events", f"{settings.mongodb_database}.instanceEvents"))
    return 1 if instances.errors or roles.errors else 0


def export_instances(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from app.errors import BadUserInput
    from app.exporter import Exported, export, replacing
    from app.graphql.filter_json import instance_filter_from_json

    if without_mongodb(settings, "export reads from MongoDB", "the embedded store keeps nothing past its process"):
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
        exported = on_database(settings, run)
    except DatabaseFailed as error:
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


def purge_instances(args: argparse.Namespace, settings: Settings) -> int:
    from app.progress import Progress
    from app.store.purge import Purge
    from app.timestamps import utc_now

    if without_mongodb(
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
        purged, events, stayed = on_database(settings, run)
    except DatabaseFailed as error:
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
