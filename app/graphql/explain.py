"""The query plan of a request: with `extensions: {"explain": true}`, the response's
`extensions.explain` lists the MongoDB commands it sent, in order, each with the root field it
was sent for (its response key; null for a batch that served several, such as audit trails) and,
on MongoDB, a summary of `explain` (executionStats): the winning plan's stages, the indexes it
scans, and how many keys and documents it examined.

A service owner gets it, and anyone on the embedded store; an end user gets, in its place,
`{"errors": [{"message", "extensions": {"code": "FORBIDDEN"}}]}`, and the data as always.
The commands are kept as the store sends them (app/store/commands.py); the compiled execution
names its root fields itself.
"""

from collections.abc import AsyncIterator
from typing import Any

from graphql.pyutils import Path
from strawberry.extensions import SchemaExtension

from app.context import Context
from app.graphql.rendering import SharedEventExecution
from app.store.commands import CommandLog, keeping_commands, sending_for

FORBIDDEN = "the query plan is shown to service owners only"
NOT_A_FLAG = "`extensions.explain` takes true or false"


def _error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class QueryPlans(SchemaExtension):
    """Keeps the commands of a request that asks for its plan, and answers with them."""

    def __init__(self) -> None:
        super().__init__()
        self._log: CommandLog | None = None
        self._answer: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        asked = (self.execution_context.operation_extensions or {}).get("explain")
        context: Context = self.execution_context.context
        if asked is None or asked is False:
            yield
        elif asked is not True:
            self._answer = _error(NOT_A_FLAG, "BAD_USER_INPUT")
            yield
        elif not (context.caller.is_service_owner or context.settings.embedded):
            self._answer = _error(FORBIDDEN, "FORBIDDEN")
            yield
        else:
            with keeping_commands() as self._log:
                yield

    async def get_results(self) -> dict[str, Any]:
        if self._log is not None:
            self._answer = {"commands": await self._log.explained(), "omitted": self._log.omitted}
        return {} if self._answer is None else {"explain": self._answer}


class RootFieldExecution(SharedEventExecution):
    """The general executor, naming the root field each command is sent for."""

    def execute_field(self, parent_type: Any, source: Any, field_details: Any, path: Path, *args: Any) -> Any:
        result = super().execute_field(parent_type, source, field_details, path, *args)
        if path.prev is not None or not self.is_awaitable(result):
            return result  # a nested field, or a root field that sends nothing (__typename)

        async def sent_for_field() -> Any:
            sending_for(str(path.key))
            return await result

        return sent_for_field()
