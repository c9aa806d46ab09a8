from collections.abc import Mapping
from typing import Any

import strawberry

from app.graphql.context import Info
from app.graphql.reads import InstancesRead, count_instances
from app.graphql.types.instance import Instance
from app.store.instances import Page

_NO_PAGE = Page(documents=[], cursors=[], has_next_page=False)  # the selection needs none


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
        return await count_instances(info.context, self.instance_filter)

    @classmethod
    def of(cls, read: InstancesRead) -> "InstanceConnection":
        page = read.page or _NO_PAGE
        nodes = [Instance.from_document(d) for d in page.documents]
        return cls(
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.cursors[-1] if page.cursors else None),
            edges=[InstanceEdge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            nodes=nodes,
            instance_filter=read.instance_filter,
        )
