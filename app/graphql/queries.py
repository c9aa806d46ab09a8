import strawberry

from app.graphql.context import Info
from app.graphql.inputs import InstanceFilter, InstanceOrder
from app.graphql.reads import DEFAULT_PAGE_SIZE, read_instance, read_instances
from app.graphql.selection import subfields
from app.graphql.types.connection import InstanceConnection
from app.graphql.types.instance import Instance


@strawberry.type
class Query:
    @strawberry.field(description="The instance with this id; null when absent or not visible to the caller.")
    async def instance(self, info: Info, id: strawberry.ID) -> Instance | None:
        document = await read_instance(info.context, subfields(info.selected_fields, "instance"), id=id)
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
        selections = subfields(info.selected_fields, "instances")
        read = await read_instances(
            info.context, selections, filter=filter, order_by=order_by, first=first, after=after
        )
        return InstanceConnection.of(read)
