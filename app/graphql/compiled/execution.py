"""The compiled execution as a schema extension: after Strawberry has parsed and validated a
request with every rule and limit, a query the plans cover is answered by its compiled plan,
and anything else goes on to the general executor as before.

Plans are kept in an LRU cache of `Settings.document_cache_size` entries, for the queries the
document cache keeps (up to MAX_CACHED_QUERY_CHARS); each entry is one query and operation
with one set of values of the variables its @include and @skip read. With a size of 0, or
for longer queries, every request goes to the general executor.
"""

import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import DocumentNode, ExecutionResult, Executor, VariableNode, Visitor, visit
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from app.graphql.compiled.codegen import Compiled, generate
from app.graphql.compiled.plan import NotCompilable, plan_operation
from app.graphql.compiled.runtime import run
from app.graphql.document_cache import MAX_CACHED_QUERY_CHARS
from app.lru import LRU

log = logging.getLogger("instance_gateway")

_NOT_COMPILABLE = object()


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_args: Any) -> None:
        if node.name.value in ("include", "skip"):
            self.names.update(a.value.name.value for a in node.arguments if isinstance(a.value, VariableNode))


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    visitor = _DirectiveVariables()
    visit(document, visitor)
    return tuple(sorted(visitor.names))


class CompiledQueries:
    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._plans = LRU(maxsize)
        self._directive_variables = LRU(maxsize)
        self.answered = 0  # requests answered by a compiled plan

    def extension(self) -> SchemaExtension:
        """The extension that answers one request with a compiled plan if there is one."""
        return _CompiledExecution(self)

    @property
    def size(self) -> int:
        return len(self._plans)

    def _compiled(
        self, schema: Schema, query: str, document: DocumentNode, executor: Executor, operation_name: str | None
    ) -> Any:
        """The compiled plan for this request's query, operation and directive values, or
        _NOT_COMPILABLE."""
        family = (query, operation_name)
        names = self._directive_variables.get(family)
        if names is None:
            names = _directive_variables(document)
            self._directive_variables.put(family, names)
        coerced = executor.variable_values.coerced
        key = (*family, tuple(coerced.get(n) for n in names))
        compiled = self._plans.get(key)
        if compiled is None:
            try:
                plan = plan_operation(schema, executor.fragments, executor.variable_values, executor.operation)
                compiled = generate(plan)
            except NotCompilable as reason:
                log.debug("the general executor answers %s: %s", operation_name or "a query", reason)
                compiled = _NOT_COMPILABLE
            except Exception:
                log.warning("could not compile a query; the general executor answers it", exc_info=True)
                compiled = _NOT_COMPILABLE
            self._plans.put(key, compiled)
        return compiled

    async def execute(self, execution: ExecutionContext) -> ExecutionResult | None:
        """The result of the compiled plan, or None: the general executor answers."""
        query, document, operation_name = execution.query, execution.graphql_document, execution.operation_name
        if self._maxsize == 0 or query is None or document is None or len(query) > MAX_CACHED_QUERY_CHARS:
            return None
        if execution.operation_type is not OperationType.QUERY:
            return None  # mutations: as before
        schema = execution.schema
        executor = Executor.build(
            schema._schema, document, raw_variable_values=execution.variables, operation_name=operation_name
        )
        if isinstance(executor, list):
            return None  # variables that do not coerce: the general executor says so
        compiled = self._compiled(schema, query, document, executor, operation_name)
        if not isinstance(compiled, Compiled):
            return None
        try:
            result = await run(compiled, schema, execution.context, executor.variable_values)
        except Exception as error:  # the general executor answers, errors and all
            log.debug("the general executor answers %s: %r", operation_name or "a query", error, exc_info=True)
            return None
        self.answered += 1
        return result


class _CompiledExecution(SchemaExtension):
    def __init__(self, queries: CompiledQueries) -> None:
        self._queries = queries

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.result is None:
            result = await self._queries.execute(context)
            if result is not None:
                context.result = result
        yield
