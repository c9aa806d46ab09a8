"""A page of the instances a query asks for, as the caller may see them: the query's filter
narrowed by the caller's list restriction, in the store's one query. Who must name what is
Altinn Storage's rule (InstancesController.GetInstances): a service owner an org or app, an
end user or system user an instance owner."""

from typing import Any

from app.authorization.access import Access
from app.context import Context
from app.errors import Forbidden
from app.rest.instance_query import (
    CONTINUATION_TOKEN,
    INSTANCE_OWNER_IDENTIFIER,
    Filter,
    InstancesQuery,
    OwnerNumber,
)
from app.rest.parameters import ParameterError
from app.store.cursors import InvalidCursor
from app.store.instances import Page

NOTHING_TO_LIST = Page(documents=[], cursors=[], has_next_page=False)


async def find_instances(context: Context, query: InstancesQuery) -> Page:
    access = await context.access()
    access.check_listing()
    named = query.instance_filter
    if context.caller.is_service_owner:
        _check_org_named(access, named)
    elif "instanceOwner" not in named and query.owner is None:
        raise ParameterError(
            INSTANCE_OWNER_IDENTIFIER, "Either InstanceOwnerPartyId or InstanceOwnerIdentifier need to be defined."
        )
    instance_filter = access.instance_filter(named) or {}
    if query.owner is not None:
        party = await _party_of(context, query.owner)
        if party is None:
            return NOTHING_TO_LIST
        instance_filter["instanceOwner"] = {"partyId": {"eq": party}}
    try:
        return await context.store.find_page(
            instance_filter=instance_filter,
            restriction=await altinn_read_restriction(context),
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


async def altinn_read_restriction(context: Context) -> Filter:
    """What Altinn Storage's reads show the caller: the read restriction, without hiding from
    end users the instances before their visibleAfter (Altinn's message box hides them, as
    GraphQL does; its list and its single reads do not)."""
    return (await context.access()).read_restriction(context.now, hide_invisible=False)


def _check_org_named(access: Access, named: Filter) -> None:
    """Altinn's AuthorizeOrgCaller, in its words: an org or app named; another org's only by
    app, and only where that app's policy lets the caller read."""
    org, app_id = (named[name]["eq"] if name in named else None for name in ("org", "appId"))
    if org is None and app_id is None:
        raise ParameterError("org", "Org or AppId must be defined.")
    org = org or app_id.partition("/")[0]
    if access.caller.is_sync_adapter or org.lower() == access.caller.org:
        return
    if app_id is None:
        raise ParameterError("appId", "AppId must be defined.")
    if not access.may_read_app(app_id):
        raise Forbidden(f"service owner {access.caller.org} may not read the instances of {app_id} (its policy)")


async def _party_of(context: Context, owner: OwnerNumber) -> str | None:
    """The party that the owners recorded on the stored instances give this number, as
    Altinn's register lookup would; None when no instance records it (nothing to list)."""
    if owner.field is None:
        return None
    page = await context.store.find_page(
        instance_filter={"instanceOwner": {owner.field: {"eq": owner.number}}},
        restriction=None,
        order=None,
        first=1,
        after=None,
        fields=["instanceOwner"],
    )
    found: list[dict[str, Any]] = page.documents
    return str(found[0]["instanceOwner"]["partyId"]) if found else None
