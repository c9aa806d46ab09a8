"""Following role grants: when a user's grants change, their subscribers see from the next
change on exactly what a fresh subscription with the new grants would. A change costs only
that user's subscribers: their access is decided again once per caller, as a request's is
(`access_of`), and the change hub files their audiences anew; no one else's is judged again.

A revocation sends no DELETED for the instances it takes out of sight: nothing happened to
them, and the subscriber is simply told nothing more of them. Policies are files loaded at
start and do not change while the gateway runs.

Fail safe: a user's grants that changed but cannot be read again end that user's
subscriptions (SERVICE_UNAVAILABLE; subscribing again reads them), and a grant feed that
fails ends every subscription, so that no subscriber goes on seeing what a revocation took.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from app.authorization.access import Access
from app.authorization.identity import Caller
from app.errors import GatewayError, ServiceUnavailable
from app.store.change_stream import ChangesLost, ChangeStreamsUnavailable
from app.subscriptions.hub import STANDALONE, ChangeHub

log = logging.getLogger("instance_gateway")

# The users whose grants change; None: any user's may have (the store cannot tell whose).
GrantSource = Callable[[], AsyncIterator[str | None]]
ReadAccess = Callable[[Caller], Awaitable[Access]]

UNREADABLE = "the subscriber's role grants changed and cannot be read again; subscribe again"
GRANTS_LOST = "the gateway lost track of role grant changes; subscribe again"


async def follow_grants(hub: ChangeHub, source: GrantSource, read_access: ReadAccess) -> None:
    """Until cancelled: re-decide the visibility of each user's subscribers as their grants
    change. Where grant changes were lost, every role holder's subscription ends (subscribing
    again reads the grants as they are) and following starts again from now on."""
    while True:
        try:
            async for role_holder in source():
                await regrant(hub, role_holder, read_access)
            return
        except ChangeStreamsUnavailable as error:
            hub.close(STANDALONE, error)
            return
        except ChangesLost as error:
            log.error("role holders' subscriptions end: %s", error)
            hub.end_all(ServiceUnavailable(GRANTS_LOST), role_holders_only=True)
        except Exception as error:  # whatever it is, revocations are no longer followed
            hub.close("role grants can no longer be followed", error)
            return


async def regrant(hub: ChangeHub, role_holder: str | None, read_access: ReadAccess) -> None:
    """The subscribers of `role_holder` (None: of every role holder) see as their grants are now."""
    accesses: dict[Caller, Access | None] = {}
    for audience in hub.audiences_of(role_holder):
        caller = audience.visibility.caller
        if caller not in accesses:
            accesses[caller] = await _read(caller, read_access)
        access = accesses[caller]
        if access is None:
            for subscriber in list(audience.subscribers):
                subscriber.end(ServiceUnavailable(UNREADABLE))
        else:
            hub.refile(audience, *audience.visibility.regranted(access))


async def _read(caller: Caller, read_access: ReadAccess) -> Access | None:
    try:
        return await read_access(caller)
    except GatewayError as error:
        log.warning("the changed grants of %s cannot be read (%s): their subscriptions end", caller.role_holder, error)
        return None
