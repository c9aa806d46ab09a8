"""A page of the instances a query asks for, as the caller may see them: the query's filter
narrowed by the caller's list restriction, in the store's one query."""

from app.context import Context
from app.rest.instance_query import CONTINUATION_TOKEN, InstancesQuery
from app.rest.parameters import ParameterError
from app.store.cursors import InvalidCursor
from app.store.instances import Page


async def find_instances(context: Context, query: InstancesQuery) -> Page:
    access = await context.access()
    try:
        return await context.store.find_page(
            instance_filter=access.instance_filter(query.instance_filter),
            restriction=await context.list_restriction(),
            order=[query.order],
            first=query.size,
            after=query.continuation_token,
            fields=None,
        )
    except InvalidCursor:
        raise ParameterError(
            CONTINUATION_TOKEN.name,
            "continuationToken is not one this gateway issued for these parameters: follow `next` as it is given.",
        ) from None
