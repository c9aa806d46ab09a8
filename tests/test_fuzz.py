"""Generated GraphQL requests, valid and broken, never make the gateway fail.

The requests come from tests/generated_queries.py, built from the schema the gateway serves.
Each request goes over HTTP, as a service owner or an end user, against the demo data. The
answer must never be a 5xx nor carry INTERNAL_SERVER_ERROR, and every error must carry a code.

`make fuzz` runs a long campaign (FUZZ_EXAMPLES_PER_CALLER=10000: 20,000 requests), which the
test suite does not.
"""

import asyncio
import json
import os
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import pytest
from graphql import build_client_schema, get_introspection_query
from hypothesis import HealthCheck, given, settings

from tests.conftest import Store, org_token, running_gateway, user_token
from tests.generated_queries import requests

DEMO = files("app") / "demo"
EXAMPLES_PER_CALLER = int(os.environ.get("FUZZ_EXAMPLES_PER_CALLER", "80"))
CALLERS: dict[str, Callable[[], str]] = {
    "service owner": lambda: org_token("ttd"),
    "end user": lambda: user_token("1", "1", auth_level=2),
}


def _demo_documents() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return json.loads((DEMO / "instances.json").read_text()), json.loads((DEMO / "party-roles.json").read_text())


def _check(status: int, body: Any) -> None:
    assert status < 500, body
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, error
        assert code != "INTERNAL_SERVER_ERROR", error


@pytest.mark.parametrize("caller", CALLERS)
def test_generated_requests_never_fail_the_gateway(store: Store, caller: str) -> None:
    instances, roles = _demo_documents()
    token = CALLERS[caller]()
    with asyncio.Runner() as runner:
        gateway = running_gateway(instances, roles, **store.settings())
        gw = runner.run(gateway.__aenter__())
        try:
            introspection = runner.run(gw.data(get_introspection_query()))
            schema = build_client_schema(introspection)
            sent = []

            @settings(
                max_examples=EXAMPLES_PER_CALLER,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(request=requests(schema))
            def answers_without_failing(request: dict[str, Any]) -> None:
                headers = {"Authorization": f"Bearer {token}"}
                response = runner.run(gw.http.post("/graphql", json=request, headers=headers))
                sent.append(request)
                _check(response.status_code, response.json())

            answers_without_failing()
            assert len(sent) >= EXAMPLES_PER_CALLER
        finally:
            runner.run(gateway.__aexit__(None, None, None))
