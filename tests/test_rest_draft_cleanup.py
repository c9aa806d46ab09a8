"""The seed's recipe "Automatic deletion of drafts" as an app owner's script runs it against
Altinn, over HTTP: list the old drafts with Storage's query, following `next` to the end,
delete each with the app's own DELETE, and see that the GraphQL view and the audit trail agree
with what was done. The README's curl recipe makes the same calls."""

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from tests.rest import STORAGE, ok
from tests.test_draft_cleanup import ALL, DAGL, DRAFTS, OLD_IDS, TRAIL, assert_untouched, find, ids

QUERY = f"{STORAGE}?appId=ttd/skjema-a&created=lte:2020-09-30&process.currentTask=Task_1"
README = Path(__file__).parent.parent / "README.md"
DEMO = files("app") / "demo"


async def every_page(gw, url: str) -> list[dict[str, Any]]:
    """The instances of every page, following `next` to the last page."""
    found: list[dict[str, Any]] = []
    while url:
        page = await ok(gw, "GET", url, "QueryResponse")
        found += page["instances"]
        url = page.get("next")
    return found


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
async def test_the_seeds_recipe_over_http(gateway_with, hard):
    async with gateway_with(ALL, DAGL) as gw:
        # step 2: the storage query, a page of two at a time
        drafts = await every_page(gw, f"{QUERY}&size=2")
        assert {d["id"] for d in drafts} == OLD_IDS
        assert len(drafts) == len(OLD_IDS)

        # step 3: the app's DELETE, one by one
        for draft in drafts:
            deleted = await ok(gw, "DELETE", f"/ttd/skjema-a/instances/{draft['id']}?hard={str(hard).lower()}")
            assert (deleted["status"]["isSoftDeleted"], deleted["status"]["isHardDeleted"]) == (True, hard)

        # the GraphQL view agrees: soft-deleted drafts are still found, marked; hard-deleted ones are gone
        found = await find(gw, DRAFTS)
        assert ids(found) == (set() if hard else OLD_IDS)
        assert (await find(gw, {**DRAFTS, "status": {"isSoftDeleted": False}}))["totalCount"] == 0
        # and a rerun of the script finds nothing left to do
        assert await every_page(gw, f"{QUERY}&status.isSoftDeleted=false") == []

        # the audit trail: one Deleted by ttd each, the same over GraphQL and REST
        for draft in drafts:
            by_graphql = (await gw.data(TRAIL, {"id": draft["id"]}))["instance"]["events"]
            by_rest = await ok(gw, "GET", f"{STORAGE}/{draft['id']}/events", "InstanceEventList")
            assert by_graphql == [{"eventType": "Deleted", "user": {"orgId": "ttd"}}]
            assert [(e["eventType"], e["user"]["orgId"]) for e in by_rest["instanceEvents"]] == [("Deleted", "ttd")]
        await assert_untouched(gw)


def readme_recipe() -> tuple[str, str, str]:
    """The query URL, the app's DELETE and the events URL (without host) of the README's curl recipe."""
    text = README.read_text()
    host = re.escape("http://127.0.0.1:8000")
    query = re.search(rf"url='{host}(/storage/api/v1/instances\?[^']+)'", text)
    delete = re.search(rf'-X DELETE [^\n]*"{host}(/ttd/skjema-a/instances/)\$id(\?hard=\w+)"', text)
    events = re.search(rf'"{host}(/storage/api/v1/instances/)\$\(head -1 drafts.txt\)(/events)"', text)
    assert query and delete and events, "the README's curl recipe has changed: update this test with it"
    return query[1], delete[1] + "{id}" + delete[2], events[1] + "{id}" + events[2]


async def test_the_readmes_curl_recipe_deletes_the_two_demo_drafts(gateway_with):
    query, delete, events = readme_recipe()
    instances, roles = (
        json.loads((DEMO / "instances.json").read_text()),
        json.loads((DEMO / "party-roles.json").read_text()),
    )
    async with gateway_with(instances, roles) as gw:
        drafts = await every_page(gw, query)
        assert len(drafts) == 2
        for draft in drafts:
            assert (await ok(gw, "DELETE", delete.format(id=draft["id"])))["status"]["isSoftDeleted"] is True
        trail = await ok(gw, "GET", events.format(id=drafts[0]["id"]), "InstanceEventList")
        assert [e["eventType"] for e in trail["instanceEvents"]] == ["Deleted"]
        assert await every_page(gw, f"{query}&status.isSoftDeleted=false") == []
