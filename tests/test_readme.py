"""The README's GraphQL examples run as written against the demo data (what `make serve`
serves), as the service owner ttd, and answer what the README says they answer."""

import json
import re
from importlib.resources import files
from pathlib import Path

import httpx
import pytest

from tests.conftest import org_token
from tests.live_server import live_gateway
from tests.websocket_client import subscribed

README = Path(__file__).parent.parent / "README.md"
DEMO = files("app") / "demo"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)
BLOCKS = [b for b in EXAMPLES if not b.startswith("subscription ")]  # over HTTP
(SUBSCRIPTION,) = [b for b in EXAMPLES if b.startswith("subscription ")]


def operations(block: str) -> list[str]:
    return re.findall(r"^(?:query|mutation) (\w+)", block, flags=re.MULTILINE)


def demo() -> tuple[list, list]:
    return json.loads((DEMO / "instances.json").read_text()), json.loads((DEMO / "party-roles.json").read_text())


async def run(gw, block: str, name: str) -> dict:
    """One operation of the block, as GraphiQL runs it with the development token of ttd."""
    response = await gw.http.post(
        "/graphql", json={"query": block, "operationName": name}, headers={"Authorization": f"Bearer {org_token()}"}
    )
    body = response.json()
    assert "errors" not in body, (name, body["errors"])
    return body["data"]


def test_the_readme_has_an_example_of_every_mutation():
    examples = "\n".join(BLOCKS)
    for mutation in ("setSubstatus", "deleteInstance(", "hard: true", "restoreInstance", "deleteInstances"):
        assert mutation in examples
    assert "dryRun: false" in examples
    assert {"confirmComplete", "setReadStatus"} <= set(re.findall(r"\b(\w+)\(", examples))


@pytest.mark.parametrize("block", BLOCKS, ids=[operations(b)[0] for b in BLOCKS])
async def test_every_example_runs_on_the_demo_data(gateway_with, block):
    async with gateway_with(*demo()) as gw:
        for name in operations(block):
            await run(gw, block, name)


async def test_the_clean_up_deletes_two_drafts_and_a_rerun_reports_them_unchanged(gateway_with):
    (block,) = [b for b in BLOCKS if "CleanUpForReal" in b]
    async with gateway_with(*demo()) as gw:
        first = (await run(gw, block, "CleanUpForReal"))["deleteInstances"]
        again = (await run(gw, block, "CleanUpForReal"))["deleteInstances"]
    assert (first["deleted"], first["unchanged"]) == (2, 0)
    assert (again["deleted"], again["unchanged"]) == (0, 2)
    # the same two, now ordered by the times their deletes were applied
    assert sorted(again["unchangedIds"]) == sorted(first["instanceIds"])


async def test_the_trail_shows_the_changes_before_it(gateway_with):
    (block,) = [b for b in BLOCKS if "query Trail" in b]
    async with gateway_with(*demo()) as gw:
        for name in operations(block):
            data = await run(gw, block, name)
    assert [e["eventType"] for e in data["instance"]["events"]] == ["SubstatusUpdated", "Deleted"]


async def test_the_subscription_example_shows_a_change_as_it_happens():
    instances, roles = demo()
    melding = next(i["id"] for i in instances if i["appId"] == "ttd/melding")
    with live_gateway(instances, roles) as gateway:
        async with subscribed(gateway.ws_url, org_token(), SUBSCRIPTION) as socket:
            await gateway.subscribers(1)
            async with httpx.AsyncClient(base_url=gateway.http_url) as client:
                mark_read = "mutation($id: ID!) { setReadStatus(instanceId: $id, status: READ) { id } }"
                headers = {"Authorization": f"Bearer {org_token()}"}
                await client.post("/graphql", json={"query": mark_read, "variables": {"id": melding}}, headers=headers)
            change = (await socket.result())["data"]["instanceChanged"]
    assert (change["operation"], change["instanceId"]) == ("UPDATED", melding)
    assert change["instance"]["status"]["readStatus"] == "READ"
