"""What the root fields read, decided in one place for the resolvers and for the compiled
execution (app/graphql/compiled/): the arguments, the caller's restriction, and only the
stored fields that the selection reads."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import FieldNode, NullValueNode, VariableNode
from strawberry.types.nodes import Selection

from app import enums
from app.config import DEFAULT_PAGE_SIZE
from app.context import Context
from app.errors import BadUserInput
from app.graphql.inputs import InstanceFilter, InstanceOrder, SortDirection, plain_data
from app.graphql.selection import document_fields, selects, subfields
from app.store.filters import check_instance_filter
from app.store.groups import Group
from app.store.instances import Document, Page, PageStream
from app.store.ordering import SortKey


@dataclass(frozen=True)
class InstancesRead:
    instance_filter: Mapping[str, Any] | None  # the caller's filter, as the store compiles it
    page: Page | None  # None when the selection needs no page


@dataclass(frozen=True)
class InstancesStream:
    instance_filter: Mapping[str, Any] | None
    page: PageStream | None  # None when the selection needs no page


async def read_instances(context: Context, selections: Sequence[Selection], **arguments: Any) -> InstancesRead:
    """The page that `instances(...)` with these arguments and the fields selected under it
    (`selections`) answers with."""
    instance_filter, page_read = await _page_read(context, selections, **arguments)
    return InstancesRead(instance_filter, None if page_read is None else await context.store.find_page(**page_read))


async def stream_instances(context: Context, selections: Sequence[Selection], **arguments: Any) -> InstancesStream:
    """The page of `read_instances`, to be taken document by document."""
    instance_filter, page_read = await _page_read(context, selections, **arguments)
    return InstancesStream(instance_filter, None if page_read is None else await context.store.stream_page(**page_read))


async def _page_read(
    context: Context,
    selections: Sequence[Selection],
    *,
    filter: InstanceFilter | None = strawberry.UNSET,
    order_by: list[InstanceOrder] | None = strawberry.UNSET,
    first: int | None = DEFAULT_PAGE_SIZE,
    after: str | None = strawberry.UNSET,
    last: int | None = strawberry.UNSET,
    before: str | None = strawberry.UNSET,
    given: Collection[str] = (),
) -> tuple[Mapping[str, Any] | None, dict[str, Any] | None]:
    """The caller's filter, and the store's arguments for the page (None: no page is needed).
    `given` names the arguments the request gives a value: `first` has a default, so only
    this tells `first` written beside `last` from `last` alone."""
    backward = last is not None and last is not strawberry.UNSET
    if backward and "first" in given:
        raise BadUserInput("`first` and `last` together: give `first` to page forward, or `last` to page backward")
    name, size = ("last", last) if backward else ("first", DEFAULT_PAGE_SIZE if first is None else first)
    max_page_size = context.settings.max_page_size
    if not 0 <= size <= max_page_size:
        raise BadUserInput(f"`{name}` must be between 0 and {max_page_size}, got {size}")
    instance_filter = await _callers_filter(context, filter)
    if not after and not before and not any(selects(selections, name) for name in ("edges", "nodes", "pageInfo")):
        return instance_filter, None
    page_info = subfields(selections, "pageInfo")
    return instance_filter, {
        "instance_filter": instance_filter,
        "restriction": await context.list_restriction(),
        "order": [SortKey(o.field.value, descending=o.direction is SortDirection.DESC) for o in order_by or []],
        "first": None if backward else size,
        "after": after or None,
        "last": size if backward else None,
        "before": before or None,
        "fields": document_fields(subfields(selections, "nodes") + subfields(selections, "edges", "node")),
        "check_next_page": selects(page_info, "hasNextPage"),
        "check_previous_page": selects(page_info, "hasPreviousPage"),
    }


def given_arguments(field: FieldNode, variables: Mapping[str, Any]) -> frozenset[str]:
    """The arguments that the request writes on this field with a value other than null (a
    variable counts when it has one): the schema's defaults are not given."""
    return frozenset(
        argument.name.value
        for argument in field.arguments or ()
        if not isinstance(argument.value, NullValueNode)
        and (not isinstance(argument.value, VariableNode) or variables.get(argument.value.name.value) is not None)
    )


async def _callers_filter(context: Context, filter: InstanceFilter | None) -> Mapping[str, Any] | None:
    """The caller's filter as the store compiles it, narrowed to the data elements it may see."""
    instance_filter = (await context.access()).instance_filter(plain_data(filter))
    check_instance_filter(instance_filter)
    return instance_filter


async def count_groups(
    context: Context, *, filter: InstanceFilter | None, by: Sequence[enums.InstanceGroupKey]
) -> list[Group]:
    """The groups `instanceGroups(filter, by)` answers with: of the instances `instances(filter)`
    finds, at most as many groups as a page has instances."""
    return await context.store.count_groups(
        instance_filter=await _callers_filter(context, filter),
        restriction=await context.list_restriction(),
        by=by,
        max_groups=context.settings.max_page_size,
    )


async def count_instances(context: Context, instance_filter: Mapping[str, Any] | None) -> int:
    return await context.store.count(instance_filter=instance_filter, restriction=await context.list_restriction())


async def read_instance(context: Context, selections: Sequence[Selection], *, id: strawberry.ID) -> Document | None:
    """The document that `instance(id)` answers with, if the caller may see it."""
    return await context.store.get(
        str(id), restriction=await context.read_restriction(), fields=document_fields(selections)
    )


async def read_instance_with_trail(
    context: Context, selections: Sequence[Selection], *, id: strawberry.ID
) -> tuple[Document | None, list[Document] | None]:
    """The document of `read_instance` and its audit trail, in one query (the trail is None
    when it must be read on its own: InstanceStore.get_with_trail). Who may see the trail is
    for the caller to decide, as for any trail."""
    return await context.store.get_with_trail(
        str(id), restriction=await context.read_restriction(), fields=document_fields(selections)
    )
