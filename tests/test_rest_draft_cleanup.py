"""The seed's recipe "Automatic deletion of drafts" as an app owner's script runs it against
Altinn, over HTTP: list the old drafts with Storage's query, following `next` to the end,
delete each with the app's own DELETE, and see that the GraphQL view and the audit trail agree
with what was done; and the README's curl recipe, run as written."""

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET, org_token
from tests.live_server import live_gateway
from tests.rest import STORAGE, ok
from tests.test_draft_cleanup import ALL, DAGL, DRAFTS, OLD_IDS, TRAIL, assert_untouched, find, ids

# As in Altinn, an app owner's list holds its hard-deleted instances unless it asks about them.
QUERY = f"{STORAGE}?appId=ttd/skjema-a&created=lte:2020-09-30&process.currentTask=Task_1&status.isHardDeleted=false"
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


def readme_recipe(gateway_url: str) -> str:
    """The README's curl recipe, aimed at this gateway and at this checkout's command."""
    (recipe,) = [r for r in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL) if "drafts" in r]
    command = str(Path(sys.executable).parent / "instance-gateway")
    return recipe.replace("http://127.0.0.1:8000", gateway_url).replace(".venv/bin/instance-gateway", command)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the recipe runs curl and jq")
def test_the_readmes_curl_recipe_deletes_the_two_demo_drafts_and_writes_no_file(store, tmp_path):
    instances, roles = (
        json.loads((DEMO / "instances.json").read_text()),
        json.loads((DEMO / "party-roles.json").read_text()),
    )
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GATEWAY_JWT_SECRET": TEST_SECRET}
    with live_gateway(instances, roles, **store.settings()) as gateway:
        recipe = readme_recipe(gateway.http_url)
        run = subprocess.run(["sh", "-c", recipe], cwd=tmp_path, env=environment, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        again = httpx.get(
            f"{gateway.http_url}{QUERY}&status.isSoftDeleted=false", headers={"Authorization": f"Bearer {org_token()}"}
        )
    *deleted, event = [json.loads(line) for line in run.stdout.splitlines()]
    assert [d["isSoftDeleted"] for d in deleted] == [True, True]
    assert event == {"eventType": "Deleted", "org": "ttd"}
    assert again.json()["instances"] == []
    assert list(tmp_path.iterdir()) == []  # nothing written where it runs (a clone, say)
