"""From files to stored documents: read, check every document, then write the valid ones.

A document that fails, or text that is no document, is reported with its file and line and not
written; every other document is. No document is ever written in part.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.exporter import EVENT, exported_document
from app.loading import read_documents
from app.store.documents import InvalidDocument, SkippedDocument, normalize_instance
from app.store.roles import merge_grants, normalize_party_roles


@dataclass
class Batch:
    documents: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # audit events, an export's
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read(paths: Iterable[str | Path], normalize: Callable[[Any, str], list[dict[str, Any]]]) -> Batch:
    batch = Batch()
    for located in read_documents(paths):
        if located.error is not None:
            batch.errors.append(f"{located.source}: {located.error}")
            continue
        try:
            batch.documents.extend(normalize(located.document, located.source))
        except InvalidDocument as error:
            batch.errors.append(f"{located.source}: {error}")
        except SkippedDocument as error:
            batch.warnings.append(f"{located.source}: skipped, {error}")
    return batch


def read_instances(paths: Iterable[str | Path]) -> Batch:
    """Instances to upsert by id; when an id repeats, the later document wins, as it would
    in the database, and a warning says so. An export's lines are stored as they are, its
    audit events with them."""
    sources: list[str] = []
    events: list[dict[str, Any]] = []

    def normalize(document: Any, source: str) -> list[dict[str, Any]]:
        exported = exported_document(document)
        if exported is not None and exported[0] == EVENT:
            events.append(exported[1])
            return []
        sources.append(source)
        return [normalize_instance(document) if exported is None else exported[1]]

    batch = _read(paths, normalize)
    batch.events = events
    latest: dict[str, int] = {}
    for index, document in enumerate(batch.documents):
        if document["id"] in latest:
            earlier = sources[latest[document["id"]]]
            batch.warnings.append(f"{sources[index]}: id {document['id']} also at {earlier}; the later one is kept")
        latest[document["id"]] = index
    batch.documents = [batch.documents[i] for i in sorted(latest.values())]
    return batch


def read_party_roles(paths: Iterable[str | Path]) -> Batch:
    batch = _read(paths, normalize_party_roles)
    batch.documents = merge_grants(batch.documents)
    return batch
