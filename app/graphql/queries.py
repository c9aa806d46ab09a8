import strawberry

from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.inputs import InstanceFilter, InstanceOrder, SortDirection, plain_data
from app.graphql.selection import document_fields, selects, subfields
from app.graphql.types.connection import InstanceConnection, InstanceEdge, PageInfo
from app.graphql.types.instance import Instance
from app.store.filters import check_instance_filter
from app.store.ordering import SortKey

DEFAULT_PAGE_SIZE = 100


@strawberry.type
class Query:
    @strawberry.field(description="The instance with this id; null when absent or not visible to the caller.")
    async def instance(self, info: Info, id: strawberry.ID) -> Instance | None:
        document = await info.context.store.get(
            str(id),
            restriction=await info.context.read_restriction(),
            fields=document_fields(subfields(info.selected_fields, "instance")),
        )
        return Instance.from_document(document) if document is not None else None

    @strawberry.field(description="Instances matching `filter`, newest change first unless `orderBy` says otherwise.")
    async def instances(
        self,
        info: Info,
        filter: InstanceFilter | None = strawberry.UNSET,
        order_by: list[InstanceOrder] | None = strawberry.UNSET,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = strawberry.UNSET,
    ) -> InstanceConnection:
        first = DEFAULT_PAGE_SIZE if first is None else first
        max_page_size = info.context.settings.max_page_size
        if not 0 <= first <= max_page_size:
            raise BadUserInput(f"`first` must be between 0 and {max_page_size}, got {first}")
        instance_filter = (await info.context.access()).instance_filter(plain_data(filter))
        check_instance_filter(instance_filter)
        connection = InstanceConnection(
            page_info=PageInfo(has_next_page=False, end_cursor=None),
            edges=[],
            nodes=[],
            instance_filter=instance_filter,
        )
        selections = subfields(info.selected_fields, "instances")
        if not after and not any(selects(selections, name) for name in ("edges", "nodes", "pageInfo")):
            return connection
        page = await info.context.store.find_page(
            instance_filter=instance_filter,
            restriction=await info.context.read_restriction(),
            order=[SortKey(o.field.value, descending=o.direction is SortDirection.DESC) for o in order_by or []],
            first=first,
            after=after or None,
            fields=document_fields(subfields(selections, "nodes") + subfields(selections, "edges", "node")),
        )
        connection.nodes = [Instance.from_document(d) for d in page.documents]
        connection.edges = [InstanceEdge(cursor=c, node=n) for c, n in zip(page.cursors, connection.nodes, strict=True)]
        connection.page_info = PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.cursors[-1] if page.cursors else None
        )
        return connection
