"""Executing subscription events once for many subscribers.

graphql-core executes a subscription's selection for every event and every subscriber. Those
who subscribed with the same document and variables, and whose callers have the same view of
instances (`instance_view`: who sees the audit trail and hard-deleted data elements), get the
same answer to the same event, so the first one's execution is kept on the event
(`InstanceChange.answers`) and the others are given it: a change seen by a thousand users of one
frontend is executed once. Whether each subscriber sees the change at all is the change hub's
decision, per caller, before. The executing subscriber gets a fresh context (`Context.for_event`).
"""

import asyncio
from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, Node, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.authorization.access import instance_view
from app.graphql.subscriptions import InstanceChange


class SharedEventExecution(StrawberryGraphQLCoreExecutionContext):
    answer_key: tuple[Any, ...] | None = None  # decided once per subscription, on its first event

    def build_per_event_executor(self, payload: Any) -> Any:
        if self.answer_key is None and self.operation.operation is OperationType.SUBSCRIPTION:
            self.answer_key = _answer_key(self)
        return super().build_per_event_executor(payload)  # a copy, answer_key included

    def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        if self.answer_key is None or not isinstance(self.root_value, InstanceChange):
            return super().execute_operation(*args, **kwargs)
        answers = self.root_value.answers
        if self.answer_key not in answers:
            # Only the subscriber who executes needs a context of its own for this event.
            self.context_value = self.context_value.for_event()
            answer = super().execute_operation(*args, **kwargs)
            # An execution that awaits becomes a task, which every subscriber may await.
            answers[self.answer_key] = asyncio.ensure_future(answer) if self.is_awaitable(answer) else answer
        return answers[self.answer_key]


def _answer_key(executor: StrawberryGraphQLCoreExecutionContext) -> tuple[Any, ...]:
    variables = repr(sorted(executor.variable_values.coerced.items()))
    # A change's cursor is the caller's own: who selects it shares answers with itself alone.
    caller = executor.context_value.caller if _selects_cursor(executor) else None
    # The operation by identity: a live subscription's executor holds it, so no other one
    # takes its id while the event is served.
    return instance_view(executor.context_value.caller), caller, id(executor.operation), variables


def _selects_cursor(executor: StrawberryGraphQLCoreExecutionContext) -> bool:
    # Any field named `cursor` anywhere in the operation or its fragments: too many only
    # shares less.
    nodes: list[Node] = [executor.operation, *executor.fragments.values()]
    return any(isinstance(node, FieldNode) and node.name.value == "cursor" for node in _all(nodes))


def _all(nodes: list[Node]) -> Iterator[Node]:
    while nodes:
        node = nodes.pop()
        yield node
        selections = getattr(node, "selection_set", None)
        if selections is not None:
            nodes.extend(selections.selections)
