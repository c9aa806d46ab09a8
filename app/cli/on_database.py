"""What the commands that work on MongoDB share: its URL checked, the work run on it and the
database closed after, and their reports of documents that could not be loaded."""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from app.config import Settings
from app.importer import Batch

if TYPE_CHECKING:
    from app.store.database import Database, Upserts

T = TypeVar("T")


def print_errors(batch: Batch, what: str) -> None:
    for warning in batch.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in batch.errors:
        print(f"error: {error}", file=sys.stderr)
    if batch.errors:
        print(f"{len(batch.errors)} {what} not loaded", file=sys.stderr)


def unusable_url(settings: Settings) -> bool:
    """Whether GATEWAY_MONGODB_URL is set but no URL the driver can use; if so, it says why."""
    from app.store.urls import url_problem

    problem = url_problem(settings.mongodb_url) if settings.mongodb_url else None
    if problem is not None:
        print(f"error: GATEWAY_MONGODB_URL is not a usable MongoDB URL: {problem}", file=sys.stderr)
    return problem is not None


def without_mongodb(settings: Settings, refusal: str, embedded_instead: str) -> bool:
    """Whether a command on MongoDB cannot run, no usable GATEWAY_MONGODB_URL being set; if so, it says why."""
    if settings.embedded:
        print(f"error: {refusal}: set GATEWAY_MONGODB_URL ({embedded_instead})", file=sys.stderr)
        return True
    return unusable_url(settings)


class DatabaseFailed(Exception):
    """The configured MongoDB failed; the message names it and the cause."""


def on_database(settings: Settings, work: "Callable[[Database], Awaitable[T]]") -> T:
    """`work` on the configured MongoDB, which is closed after it. Raises DatabaseFailed."""
    from app.errors import ServiceUnavailable
    from app.store.database import connect

    async def run() -> T:
        database = connect(settings.mongodb_url, settings.mongodb_database)
        try:
            return await work(database)
        except ServiceUnavailable as error:
            raise DatabaseFailed(database.describe_failure(error)) from error
        finally:
            await database.close()

    return asyncio.run(run())


def upserted(upserts: "Upserts", what: str, where: str) -> str:
    total = upserts.inserted + upserts.updated + upserts.unchanged
    changes = f"{upserts.inserted} inserted, {upserts.updated} updated, {upserts.unchanged} unchanged"
    return f"imported {total} {what} into {where}: {changes}"
