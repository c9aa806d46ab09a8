from typing import Annotated

import strawberry

from app import enums
from app.config import DEFAULT_PAGE_SIZE
from app.graphql.info import Info
from app.graphql.inputs import InstanceFilter, InstanceOrder
from app.graphql.reads import count_groups, given_arguments, read_instance, read_instances
from app.graphql.selection import subfields
from app.graphql.types.connection import InstanceConnection
from app.graphql.types.group import InstanceGroup, InstanceGroupKey
from app.graphql.types.instance import Instance, InstanceId
from app.graphql.types.node import Node


@strawberry.type(description="Reads; each answers only what the caller may see.")
class Query:
    @strawberry.field(description="The instance with this id; null when absent or not visible to the caller.")
    async def instance(self, info: Info, id: InstanceId) -> Instance | None:
        return await _instance(info, "instance", id)

    @strawberry.field(description="Instances matching `filter`, newest change first unless `orderBy` says otherwise.")
    async def instances(
        self,
        info: Info,
        filter: Annotated[
            InstanceFilter | None,
            strawberry.argument(
                description="Only the instances that meet all of it. Hard-deleted instances are left out "
                "unless it asks about status.isHardDeleted."
            ),
        ] = strawberry.UNSET,
        order_by: Annotated[
            list[InstanceOrder] | None,
            strawberry.argument(description="Sort keys, the first deciding most; lastChanged, latest first, if none."),
        ] = strawberry.UNSET,
        first: Annotated[
            int | None,
            strawberry.argument(
                description="How many instances the page holds, 0 to GATEWAY_MAX_PAGE_SIZE (1000 by default)."
            ),
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor (endCursor, or an edge's cursor) of this same query: the page after it."
            ),
        ] = strawberry.UNSET,
        last: Annotated[
            int | None,
            strawberry.argument(
                description="Page backward instead: the last this many before `before` (or of all), in the same "
                "order. 0 to GATEWAY_MAX_PAGE_SIZE; not with `first`."
            ),
        ] = strawberry.UNSET,
        before: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor (startCursor, or an edge's cursor) of this same query: the page before it. "
                "With `after` too, the page lies between the two."
            ),
        ] = strawberry.UNSET,
    ) -> InstanceConnection:
        selections = subfields(info.selected_fields, "instances")
        given = given_arguments(info._raw_info.field_nodes[0], info.variable_values)
        read = await read_instances(
            info.context,
            selections,
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
            last=last,
            before=before,
            given=given,
        )
        return InstanceConnection.of(read)

    @strawberry.field(
        description="How many of the instances `instances(filter)` finds have each combination of values of "
        "the keys in `by`: the largest group first, then by the values in the order of `by` (null first, false "
        "before true, text by code point, readStatus by its stored name). At most GATEWAY_MAX_PAGE_SIZE groups; "
        "more is BAD_USER_INPUT."
    )
    async def instance_groups(
        self,
        info: Info,
        *,
        filter: Annotated[
            InstanceFilter | None,
            strawberry.argument(description="As for `instances`: only the instances that meet all of it."),
        ] = strawberry.UNSET,
        by: Annotated[
            list[InstanceGroupKey],
            strawberry.argument(description="The keys to count by, each once, at least one."),
        ],
    ) -> list[InstanceGroup]:
        keys = [enums.InstanceGroupKey[key.name] for key in by]
        return [InstanceGroup.of(g) for g in await count_groups(info.context, filter=filter, by=keys)]

    @strawberry.field(
        description="The object with this global id: an instance, by its id. Null when absent or not visible to "
        "the caller, as `instance(id)`."
    )
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A Node's id.")]
    ) -> Node | None:
        return await _instance(info, "node", id)


async def _instance(info: Info, field: str, id: strawberry.ID) -> Instance | None:
    document = await read_instance(info.context, subfields(info.selected_fields, field), id=id)
    return Instance.from_document(document) if document is not None else None
