"""Subscriptions follow role grants, on both stores: a grant given after subscribing shows its
party's changes from the next change on, a grant taken away shows them no more, and only the
subscribers of the user whose grants changed cost anything."""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.store.writes import write_all
from tests.conftest import Store, open_store, user_token
from tests.factories import make_instance
from tests.live_server import LiveGateway
from tests.test_subscriptions import SET_SUBSTATUS, change, mutate, serving, watching


def count_role_reads(gateway: LiveGateway) -> Counter[str]:
    """How often each user's grants are read from now on."""
    reads: Counter[str] = Counter()
    party_roles = gateway.app.state.services.party_roles
    read = party_roles.roles_of

    async def counted(user_id: str) -> dict[str, frozenset[str]]:
        roles = await read(user_id)
        reads[user_id] += 1  # once read: the hub re-files right after, in the same step
        return roles

    party_roles.roles_of = counted
    return reads


async def until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


async def grant(gateway: LiveGateway, *grants: dict[str, Any]) -> None:
    """Write grants as `import --roles` does, on the server's own store."""
    await gateway.on_server(write_all(gateway.database, [], list(grants)))


async def test_a_grant_given_after_subscribing_is_seen_and_one_taken_away_no_longer(store):
    own, other_party = make_instance(party_id="1"), make_instance(party_id="500")
    strangers = make_instance(party_id="2")
    with serving(store, [own, other_party, strangers]) as gateway:
        reads = count_role_reads(gateway)
        async with (
            watching(gateway, user_token(user_id="1", party_id="1")) as socket,
            watching(gateway, user_token(user_id="2", party_id="2")) as stranger,
        ):
            assert reads == {"1": 1, "2": 1}
            await grant(gateway, {"userId": "1", "partyId": "500", "roles": ["DAGL"]})
            await until(lambda: reads["1"] == 2, "user 1's grants read again")
            await mutate(gateway, SET_SUBSTATUS, {"id": other_party["id"]})
            given = await change(socket)
            assert (given["operation"], given["instanceId"]) == ("UPDATED", other_party["id"])

            await grant(gateway, {"userId": "1", "partyId": "500", "roles": []})
            await until(lambda: reads["1"] == 3, "user 1's grants read again")
            # no DELETED for what the revocation took out of sight, and nothing of it after
            await mutate(gateway, SET_SUBSTATUS, {"id": other_party["id"]})
            await mutate(gateway, SET_SUBSTATUS, {"id": own["id"]})
            after = await change(socket)
            assert (after["operation"], after["instanceId"]) == ("UPDATED", own["id"])

            # the other user's subscription was never decided again, and sees as before
            await mutate(gateway, SET_SUBSTATUS, {"id": strangers["id"]})
            theirs = await change(stranger)
            assert theirs["instanceId"] == strangers["id"]
            assert reads["2"] == 1


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from open_store(request, "wire")


@pytest.mark.wire
async def test_a_grant_deleted_from_the_collection_is_taken_away(wire):
    own, other_party = make_instance(party_id="1"), make_instance(party_id="500")
    dagl = {"userId": "1", "partyId": "500", "roles": ["DAGL"]}
    with serving(wire, [own, other_party], [dagl]) as gateway:
        reads = count_role_reads(gateway)
        async with watching(gateway, user_token(user_id="1", party_id="1")) as socket:
            await mutate(gateway, SET_SUBSTATUS, {"id": other_party["id"]})
            assert (await change(socket))["instanceId"] == other_party["id"]
            # by a pre-image where MongoDB keeps them, else by reading every role holder's again
            await gateway.on_server(gateway.database.party_roles.delete_one({"userId": "1", "partyId": "500"}))
            await until(lambda: reads["1"] == 2, "user 1's grants read again")
            await mutate(gateway, SET_SUBSTATUS, {"id": other_party["id"]})
            await mutate(gateway, SET_SUBSTATUS, {"id": own["id"]})
            assert (await change(socket))["instanceId"] == own["id"]
