"""The commands a request sends to the database, kept when it asks for its query plan
(GraphQL's `extensions.explain`): each read notes its command here as it sends it, so that
what is shown is what ran, never a rebuild of it; then MongoDB's `explain` of each.

Keeping is off unless a request turns it on (`keeping_commands`): a read then costs one
context variable lookup more."""

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import bson
from pymongo.errors import PyMongoError

from app.errors import GatewayError
from app.timestamps import format_timestamp

# A request whose reads are many (a bulk change) has its first ones explained, not all.
MAX_KEPT_COMMANDS = 50


@dataclass(frozen=True)
class SentCommand:
    field: str | None  # the root field it was sent for; None when it served several (a batch)
    command: dict[str, Any]  # as the driver sends it, without the cursor options
    explain: Any  # the Database it went to: Database.explain(command)


@dataclass
class CommandLog:
    commands: list[SentCommand] = field(default_factory=list)
    omitted: int = 0  # sent past MAX_KEPT_COMMANDS

    async def explained(self) -> list[dict[str, Any]]:
        """Each command, JSON-safe, with the summary of its plan (None where the store has no
        `explain`: the embedded store)."""
        return [
            {"field": sent.field, "command": json_safe(sent.command), "plan": await _plan(sent)}
            for sent in self.commands
        ]


_log: ContextVar[CommandLog | None] = ContextVar("command_log", default=None)
_field: ContextVar[str | None] = ContextVar("command_field", default=None)


@contextlib.contextmanager
def keeping_commands() -> Iterator[CommandLog]:
    """Keep the commands sent within the block, and in the tasks it starts."""
    log = CommandLog()
    token = _log.set(log)
    try:
        yield log
    finally:
        _log.reset(token)


def sending_for(root_field: str | None) -> None:
    """The commands sent from here on in this task are for this root field. Set, never reset:
    each root field runs in a task of its own (or one after another), and what it reads after
    its resolver returns (a count, an audit trail) is still its own."""
    if _log.get() is not None:
        _field.set(root_field)


def note(database: Any, collection: Any, command: str, **arguments: Any) -> None:
    """A command about to be sent to `collection`, if this request keeps them."""
    log = _log.get()
    if log is None:
        return
    if len(log.commands) == MAX_KEPT_COMMANDS:
        log.omitted += 1
        return
    sent = {command: collection.name, **{k: v for k, v in arguments.items() if v is not None}}
    log.commands.append(SentCommand(_field.get(), sent, database.explain))


async def _plan(sent: SentCommand) -> dict[str, Any] | None:
    try:
        return plan_summary(await sent.explain(sent.command))
    except (GatewayError, PyMongoError) as error:  # the answer stands; only its plan is missing
        return {"error": str(error)}


def json_safe(value: Any) -> Any:
    """`value` as JSON can hold it: dates as ISO-8601 UTC, a regular expression as its pattern."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, re.Pattern | bson.Regex):
        return value.pattern
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # an ObjectId, a Decimal128


def plan_summary(explained: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a developer reads in MongoDB's `explain` (executionStats): the winning plan's stages
    from the top, the indexes it scans, and what it examined and returned."""
    if explained is None:
        return None
    # A find's explain has these at the top; an aggregation's, in its first stage's `$cursor`.
    cursor = next((s["$cursor"] for s in explained.get("stages", ()) if "$cursor" in s), explained)
    winning = cursor.get("queryPlanner", {}).get("winningPlan", {})
    stages, indexes = _stages(winning.get("queryPlan", winning))  # queryPlan: the slot-based engine's
    stats = cursor.get("executionStats") or explained.get("executionStats") or {}
    return {
        "stages": stages,
        "indexes": indexes,
        **{key: stats.get(key) for key in ("nReturned", "totalKeysExamined", "totalDocsExamined")},
        "pipeline": [next(iter(s)) for s in explained.get("stages", ())] or None,
    }


def _stages(plan: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    stages: list[str] = []
    indexes: list[str] = []
    pending = [plan]
    while pending:
        stage = pending.pop(0)
        if "stage" in stage:
            stages.append(stage["stage"])
        if "indexName" in stage:
            indexes.append(stage["indexName"])
        pending += [stage["inputStage"]] if "inputStage" in stage else list(stage.get("inputStages", ()))
    return stages, indexes
