from collections.abc import Mapping
from typing import Any

import strawberry

from app.graphql.context import Info
from app.graphql.types.instance import Instance


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type
class InstanceEdge:
    cursor: str
    node: Instance


@strawberry.type(description="A page of instances, in keyset order.")
class InstanceConnection:
    page_info: PageInfo
    edges: list[InstanceEdge]
    nodes: list[Instance]
    instance_filter: strawberry.Private[Mapping[str, Any] | None]

    @strawberry.field(description="How many instances match in all, counted only when selected.")
    async def total_count(self, info: Info) -> int:
        return await info.context.store.count(
            instance_filter=self.instance_filter,
            restriction=await info.context.read_restriction(),
        )
