"""Automatic persisted queries, Apollo's protocol: a hash alone not known answers as Apollo
Server does, so that Apollo Client and urql send the document; a hash with its document is
checked, run and kept; the hash alone then runs, over POST and over GET. The README's curl
example runs as written."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET, org_token
from tests.factories import make_instance
from tests.live_server import live_gateway

README = Path(__file__).parent.parent / "README.md"
QUERY = "{ instances(first: 1) { totalCount } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
NOT_CACHED = "private, no-cache, must-revalidate"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(query: str, version: object = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(query)}}


def _auth(**headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {org_token()}", **headers}


async def post(gw, body: dict, **headers: str):
    return await gw.http.post("/graphql", json=body, headers=_auth(**headers))


async def get(gw, extensions: dict, **headers: str):
    return await gw.http.get("/graphql", params={"extensions": json.dumps(extensions)}, headers=_auth(**headers))


def code_of(response) -> str:
    (error,) = response.json()["errors"]
    return error["extensions"]["code"]


async def test_a_hash_is_not_found_then_registered_with_its_document_then_runs_alone_over_post_and_get(gateway_with):
    async with gateway_with([make_instance()]) as gw:
        missed = await post(gw, {"extensions": persisted(QUERY)})
        registered = await post(gw, {"query": QUERY, "extensions": persisted(QUERY)})
        by_post = await post(gw, {"extensions": persisted(QUERY)})
        by_get = await get(gw, persisted(QUERY), accept="*/*")  # as Apollo Client sends it
        metrics = (await gw.http.get("/metrics")).text
    # Apollo Server's answer, which Apollo Client and urql retry on: 200, its message and code,
    # and never to be cached by a CDN, as the document is about to be registered.
    assert missed.status_code == 200
    assert missed.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert missed.headers["cache-control"] == NOT_CACHED
    assert 'gateway_errors_total{code="PERSISTED_QUERY_NOT_FOUND"} 1.0' in metrics  # counted, though a 200
    for response in (registered, by_post, by_get):
        assert response.status_code == 200
        assert response.json() == {"data": {"instances": {"totalCount": 1}}}


async def test_the_media_type_of_graphql_over_http_gets_a_4xx_that_apollo_client_does_not_give_up_on(gateway_with):
    # Without `data` the spec needs a 4xx; Apollo Client turns APQ off for good on a 400 or 500.
    async with gateway_with() as gw:
        response = await post(gw, {"extensions": persisted(QUERY)}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }


async def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_is_kept(gateway_with):
    other = "{ instances(first: 2) { totalCount } }"
    async with gateway_with() as gw:
        hijack = await post(gw, {"query": other, "extensions": persisted(QUERY)})
        after = await post(gw, {"extensions": persisted(QUERY)})
    assert hijack.status_code == 400
    assert hijack.json()["errors"][0] == {
        "message": "provided sha does not match query",
        "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"},
    }
    assert code_of(after) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "says"),
    [
        (persisted(QUERY, version=2), "Unsupported persisted query version 2"),
        (persisted(QUERY, version=True), "Unsupported persisted query version True"),
        ({"persistedQuery": {"version": 1, "sha256Hash": sha256(QUERY).upper()}}, "64 lower-case hex digits"),
        ({"persistedQuery": {"version": 1}}, "64 lower-case hex digits, not None"),
        ({"persistedQuery": "abc"}, "must be an object"),
    ],
)
async def test_a_malformed_persisted_query_is_a_clear_error(gateway_with, extensions, says):
    async with gateway_with() as gw:
        by_post = await post(gw, {"query": QUERY, "extensions": extensions})
        by_get = await get(gw, extensions)
    for response in (by_post, by_get):
        assert response.status_code == 400
        assert code_of(response) == "BAD_USER_INPUT"
        assert says in response.json()["errors"][0]["message"]


async def test_a_persisted_mutation_is_refused_over_get_as_any_mutation_is(gateway_with):
    mutation = 'mutation { restoreInstance(instanceId: "1337/00000000-0000-0000-0000-000000000000") { id } }'
    async with gateway_with() as gw:
        await post(gw, {"query": mutation, "extensions": persisted(mutation)})
        response = await get(gw, persisted(mutation))
    assert response.status_code == 405
    assert code_of(response) == "BAD_USER_INPUT"


def query_number(n: int) -> str:
    return f"query Q{n} {{ instances(first: {n}) {{ totalCount }} }}"


async def test_the_store_forgets_the_least_recently_used_beyond_its_count(gateway_with):
    async with gateway_with(apq_cache_size=2) as gw:
        for n in (1, 2):
            await post(gw, {"query": query_number(n), "extensions": persisted(query_number(n))})
        await post(gw, {"extensions": persisted(query_number(1))})  # 1 is used again: 2 is the oldest now
        await post(gw, {"query": query_number(3), "extensions": persisted(query_number(3))})
        kept = {}
        for n in (1, 2, 3):
            response = await post(gw, {"extensions": persisted(query_number(n))})
            kept[n] = code_of(response) if "errors" in response.json() else "ran"
    assert kept == {1: "ran", 2: "PERSISTED_QUERY_NOT_FOUND", 3: "ran"}


async def test_the_store_keeps_no_more_bytes_than_its_bound_and_runs_a_larger_document_all_the_same(gateway_with):
    small, large = QUERY, "{ instances(first: 1) { totalCount } }" + " " * 5000
    async with gateway_with(apq_cache_bytes=2000) as gw:
        await post(gw, {"query": small, "extensions": persisted(small)})
        ran = await post(gw, {"query": large, "extensions": persisted(large)})
        small_again = await post(gw, {"extensions": persisted(small)})
        large_again = await post(gw, {"extensions": persisted(large)})
    assert ran.json() == {"data": {"instances": {"totalCount": 0}}}
    assert "errors" not in small_again.json()  # not pushed out by a document too large to keep
    assert code_of(large_again) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("off", [{"apq_cache_size": 0}, {"apq_cache_bytes": 0}])  # no room to keep one either way
async def test_with_apq_off_a_hash_alone_says_so_and_a_hash_with_its_document_runs(gateway_with, off):
    async with gateway_with(**off) as gw:
        alone = await post(gw, {"extensions": persisted(QUERY)})
        with_document = await post(gw, {"query": QUERY, "extensions": persisted(QUERY)})
    # Apollo Client then stops sending hashes and sends documents.
    assert alone.json()["errors"][0] == {
        "message": "PersistedQueryNotSupported",
        "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
    }
    assert with_document.json() == {"data": {"instances": {"totalCount": 0}}}


async def test_a_registered_document_is_named_by_documentId_too(gateway_with):
    async with gateway_with() as gw:
        await post(gw, {"query": QUERY, "extensions": persisted(QUERY)})
        response = await post(gw, {"documentId": f"sha256:{sha256(QUERY)}"})
    assert response.json() == {"data": {"instances": {"totalCount": 0}}}


def readme_apq_example(gateway_url: str) -> str:
    """The README's curl example of APQ, aimed at this gateway and at this checkout's command."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (example,) = [b for b in blocks if "persistedQuery" in b]
    command = str(Path(sys.executable).parent / "instance-gateway")
    return example.replace("http://127.0.0.1:8000", gateway_url).replace(".venv/bin/instance-gateway", command)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("sha256sum")), reason="the example runs curl")
def test_the_readmes_curl_example_misses_registers_and_then_runs_by_hash(store, tmp_path):
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GATEWAY_JWT_SECRET": TEST_SECRET}
    with live_gateway([make_instance()], **store.settings()) as gateway:
        example = readme_apq_example(gateway.http_url)
        run = subprocess.run(["sh", "-c", example], cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    missed, registered, by_get = [json.loads(line) for line in run.stdout.splitlines()]
    assert missed["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered == by_get == {"data": {"instances": {"totalCount": 1}}}
