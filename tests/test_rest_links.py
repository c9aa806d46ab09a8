"""The links REST answers hold (`self`, `next`, `selfLinks.platform` of instances and of their
data elements): they start at GATEWAY_PUBLIC_URL, or else at the address the connection
reached, never at the Host header a client sends; `self` and `next` write the caller's
parameters alike."""

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.config import Settings
from tests.conftest import org_token
from tests.factories import make_instance
from tests.live_server import live_gateway
from tests.rest import STORAGE, call, ok

HOSTILE = {"Host": "evil.example:666", "X-Forwarded-Host": "evil.example:666", "Forwarded": "host=evil.example"}
ELEMENTS = [{"id": "form"}, {"id": "attachment"}]
SOFT_DELETED = {"isSoftDeleted": True, "softDeleted": "2024-02-01T00:00:00Z"}


def links(answer: Any) -> Iterator[str]:
    """Every link in an answer: the values of `self`, `next` and `platform`, however deep."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key in ("self", "next", "platform") and value is not None:
                yield value
            else:
                yield from links(value)
    elif isinstance(answer, list):
        for value in answer:
            yield from links(value)


def every_call(documents: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """A call of each REST operation that answers with links."""
    first = documents[0]["id"]
    instance = f"{STORAGE}/{first}"
    return [
        ("GET", f"{STORAGE}?appId=ttd/skjema-a&size=1", {}),
        ("GET", instance, {}),
        ("PUT", f"{instance}/substatus", {"json": {"label": "In review"}}),
        ("PUT", f"{instance}/readstatus?status=Read", {}),
        ("POST", f"{instance}/complete", {}),
        ("GET", f"{STORAGE}/{first.partition('/')[2]}", {}),
        ("DELETE", instance, {}),
        ("DELETE", f"/ttd/skjema-a/instances/{first}?hard=true", {}),
    ]


def documents() -> list[dict[str, Any]]:
    return [make_instance(data=ELEMENTS), make_instance(data=ELEMENTS, status=SOFT_DELETED)]


@pytest.mark.parametrize("public_url", [None, "https://platform.example.no/gateway/"])
async def test_no_link_follows_the_host_header(gateway_with, public_url):
    stored = documents()
    base = (public_url or "http://gateway/").rstrip("/")
    async with gateway_with(stored, public_url=public_url) as gw:
        for method, url, body in every_call(stored):
            response = await call(gw, method, url, headers=HOSTILE, **body)
            assert response.status_code == 200, response.text
            assert "evil" not in response.text
            found = list(links(response.json()))
            assert len(found) >= 3, (url, found)  # the instance's and its data elements', or a page's
            assert all(link.startswith(f"{base}/storage/api/v1/instances") for link in found), found


def test_a_real_server_links_to_the_address_it_listens_on():
    with live_gateway(documents()[:1]) as gateway:
        headers = {**HOSTILE, "Authorization": f"Bearer {org_token()}"}
        page = httpx.get(f"{gateway.http_url}{STORAGE}?org=ttd", headers=headers).json()
    assert page["self"] == f"{gateway.http_url}{STORAGE}?org=ttd"
    assert all(link.startswith(f"{gateway.http_url}/storage/api/v1/") for link in links(page))


@pytest.mark.parametrize("app_id", ["ttd/skjema-a", "ttd%2Fskjema-a"])
async def test_self_and_next_write_the_parameters_alike(gateway_with, app_id):
    async with gateway_with([make_instance() for _ in range(3)]) as gw:
        url = f"{STORAGE}?appId={app_id}&size=1"
        pages = []
        while url:
            pages.append(await ok(gw, "GET", url, "QueryResponse"))
            url = pages[-1].get("next")
    assert [p["count"] for p in pages] == [1, 1, 1]
    first = f"http://gateway{STORAGE}?appId={app_id}&size=1"
    assert pages[0]["self"] == first
    for page, following in pairwise(pages):
        # the same parameters, written as the caller wrote them, and the token last
        assert page["next"].startswith(f"{first}&continuationToken=")
        assert following["self"] == page["next"]


@pytest.mark.parametrize("value", ["platform.example.no", "ftp://platform.example.no", "https://x.no/?a=1"])
def test_the_public_url_is_a_base_url(value):
    with pytest.raises(ValidationError, match="public_url"):
        Settings(_env_file=None, public_url=value)
