"""`instance-gateway export`: stored instances, and their audit events if asked, as NDJSON that
`import` reads back to the same documents.

Each line is one object whose one key says what it holds, `{"instance": {...}}` or
`{"event": {...}}`: the document as stored, without MongoDB's `_id` (each database's own
handle), in canonical Extended JSON so that every value keeps its BSON type. An instance keeps
the gateway's own fields, its outbox of audit events not yet recorded (`_pendingEvents`)
included, which the gateway at the other end records when it starts. `import` stores such
lines as they are, never normalized as a document written by hand is: odd old values too.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from app.progress import Progress
from app.store.database import Database
from app.store.documents import Document, InvalidDocument, check_field_names, check_stored_identity
from app.store.export import Export
from app.store.extended_json import encode

INSTANCE, EVENT = "instance", "event"


@dataclass(frozen=True)
class Exported:
    instances: int
    events: int


async def export(
    database: Database,
    out: BinaryIO,
    *,
    instance_filter: Mapping[str, Any] | None,
    with_events: bool,
    show_progress: bool,
) -> Exported:
    """Write the instances that meet `instance_filter` (None: all, hard-deleted ones too) to
    `out` as they are read, each batch's events after its instances; never more than a batch
    in memory, however many there are."""
    run = Export(database, instance_filter)
    progress = Progress("exporting", await run.count()) if show_progress else None
    instances = events = 0
    try:
        async for batch in run.instances():
            ids = []
            for document in batch:
                out.write(_line(INSTANCE, document))
                ids.append(document.get("id"))
            instances += len(ids)
            if with_events and ids:
                async for event_batch in run.events(ids):
                    for event in event_batch:
                        out.write(_line(EVENT, event))
                        events += 1
            if progress is not None:
                progress.advance(len(ids))
    finally:
        if progress is not None:
            progress.close()
    return Exported(instances, events)


def _line(kind: str, document: Document) -> bytes:
    return (encode({kind: document}) + "\n").encode()


def exported_document(line: Any) -> tuple[str, Document] | None:
    """The kind and the stored document of a line of an export; None for any other document
    (no instance is an object of one key). Raises InvalidDocument for one without its id."""
    if not isinstance(line, dict) or len(line) != 1:
        return None
    [(kind, document)] = line.items()
    if kind not in (INSTANCE, EVENT):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("id"), str) or not document["id"]:
        raise InvalidDocument(f"an exported {kind} must be an object with its id")
    stored = {k: v for k, v in document.items() if k != "_id"}
    if kind == INSTANCE:
        check_stored_identity(stored)
    elif not isinstance(stored.get("instanceId"), str) or not stored["instanceId"]:
        raise InvalidDocument("an exported event must name its instance by instanceId")
    check_field_names(stored)
    return kind, stored


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A new file that becomes `path` whole once the block completes. If the block fails or is
    interrupted, `path` stays as it was and the partial file is removed: no half export is ever
    found at `path`. Readable by its owner alone, as the instances hold personal data."""
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
