"""`instanceChanged`: the changes of instances the caller may read and that match a filter,
as they happen, resumed after a change's cursor if asked. The change hub (app/subscriptions/)
decides who sees what; this is its GraphQL face."""

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Annotated, Any

import strawberry

from app.graphql.info import Info
from app.graphql.inputs import InstanceFilter, plain_data
from app.graphql.scalars import DateTime
from app.graphql.types.instance import Instance
from app.store.filters import check_instance_filter
from app.subscriptions.hub import ChangeEvent
from app.subscriptions.resumption import ChangeCursors
from app.subscriptions.visibility import Visibility, visibility_key


@strawberry.enum(description="What a change did to an instance, as the subscriber sees it.")
class InstanceOperation(Enum):
    CREATED = strawberry.enum_value("CREATED", description="The instance was created.")
    UPDATED = strawberry.enum_value(
        "UPDATED", description="The instance changed; it may have just come into the subscriber's sight or filter."
    )
    DELETED = strawberry.enum_value(
        "DELETED", description="The instance went out of the subscriber's sight or filter, or was hard-deleted."
    )


@strawberry.type(description="One change of one instance.")
class InstanceChange:
    operation: InstanceOperation = strawberry.field(
        description="DELETED when the change took the instance out of the subscriber's sight: "
        "hard-deleted, no longer permitted, or no longer matching the filter."
    )
    instance_id: strawberry.ID = strawberry.field(description="The changed instance's id; given for DELETED too.")
    instance: Instance | None = strawberry.field(
        description="The instance after the change; null when the operation is DELETED."
    )
    at: DateTime = strawberry.field(description="When the change was made.")
    cursor: str = strawberry.field(
        description="Where this change is in the sequence of changes: subscribe again with it as `after` "
        "to receive every change since. Valid for this caller and this filter only."
    )
    # The answers computed for this change, shared by subscribers who ask the same (see rendering.py);
    # one dict for the change's values of every caller and filter.
    answers: strawberry.Private[dict[Any, Any]]


def change_of(event: ChangeEvent, cursors: ChangeCursors) -> InstanceChange:
    """The GraphQL value of an event, made once for all its subscribers with one caller and filter."""
    change = event.memo.get((InstanceChange, cursors.binding))
    if change is None:
        instance = event.memo.get(Instance)
        if instance is None and event.document is not None:
            instance = event.memo[Instance] = Instance.from_document(event.document)
        change = InstanceChange(
            operation=InstanceOperation(event.operation),
            instance_id=strawberry.ID(event.instance_id),
            instance=instance,
            at=event.at,
            cursor=cursors.cursor_of(event.position),
            answers=event.memo.setdefault("answers", {}),
        )
        event.memo[(InstanceChange, cursors.binding)] = change
    return change


@strawberry.type(description="Changes as they happen, over WebSocket.")
class Subscription:
    @strawberry.subscription(
        description="Changes of the instances the caller may read that match `filter` after the change, "
        "from now on, or from the change whose cursor is `after` on. Served over WebSocket at /graphql "
        "(graphql-transport-ws or graphql-ws)."
    )
    async def instance_changed(
        self,
        info: Info,
        filter: Annotated[
            InstanceFilter | None,
            strawberry.argument(description="Only changes after which the instance meets all of it."),
        ] = strawberry.UNSET,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="The `cursor` of a change this caller received with this filter: first every "
                "change since, then the live ones, none missed and none twice. CURSOR_EXPIRED when the "
                "changes since are no longer kept, REPLAY_LIMIT_EXCEEDED when there are too many to replay."
            ),
        ] = None,
    ) -> AsyncGenerator[InstanceChange, None]:
        # Checked before the stream starts, so that a refusal answers the subscribe itself.
        context = info.context
        live, on_overflow = context.live, context.subscriber_overflow
        # Set by the WebSocket edge, the only one that subscribes (HTTP refuses subscriptions).
        assert live is not None and on_overflow is not None
        access = await context.access()
        access.check_listing()
        instance_filter = access.instance_filter(plain_data(filter))
        check_instance_filter(instance_filter)
        cursors = live.resumption.cursors(access.caller, instance_filter)
        position = None if after is None else cursors.position_of(after)
        await live.ready()

        async def changes() -> AsyncGenerator[InstanceChange, None]:
            key = visibility_key(access, instance_filter)
            visibility = lambda: Visibility(access, instance_filter)  # noqa: E731
            async with live.subscribe(key, visibility, on_overflow, after=position) as events:
                async for event in events:
                    yield change_of(event, cursors)

        return changes()
