from collections.abc import Mapping
from typing import Any

import strawberry

from app.graphql.info import Info
from app.graphql.reads import InstancesRead, count_instances
from app.graphql.types.instance import Instance
from app.store.instances import Page

_NO_PAGE = Page(documents=[], cursors=[], has_next_page=False)  # the selection needs none


@strawberry.type(
    description="Where a page is in the whole list. Both flags are exact, whichever way the page was read; "
    "one that the page itself does not tell (hasPreviousPage of a page after `after`, hasNextPage of one "
    "with `before`) costs a query of one document, made only when it is selected."
)
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more instances follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether instances come before this page.")
    start_cursor: str | None = strawberry.field(description="Pass as `before`, with `last`, to get the page before.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type(description="One instance of a page, with the cursor of its place in the order.")
class InstanceEdge:
    cursor: str = strawberry.field(
        description="Pass as `after` to get the instances that follow this one, as `before` for those before it."
    )
    node: Instance = strawberry.field(description="The instance.")


@strawberry.type(description="A page of instances, in keyset order.")
class InstanceConnection:
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursor to ask for them.")
    edges: list[InstanceEdge] = strawberry.field(description="The page's instances, each with its cursor.")
    nodes: list[Instance] = strawberry.field(description="The page's instances, without cursors.")
    instance_filter: strawberry.Private[Mapping[str, Any] | None]

    @strawberry.field(description="How many instances match in all, counted only when selected.")
    async def total_count(self, info: Info) -> int:
        return await count_instances(info.context, self.instance_filter)

    @classmethod
    def of(cls, read: InstancesRead) -> "InstanceConnection":
        page = read.page or _NO_PAGE
        nodes = [Instance.from_document(d) for d in page.documents]
        return cls(
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            edges=[InstanceEdge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            nodes=nodes,
            instance_filter=read.instance_filter,
        )
