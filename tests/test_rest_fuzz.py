"""Generated REST calls, valid and broken, never make the gateway fail: each answer is a 200 in
its documented shape or a 4xx problem naming what is wrong, never a 5xx. Parameters come from
the allow-list and beyond it (unknown names, other cases, repeats, empty and odd values, dates
at the edges of the calendar, tampered tokens); paths and bodies likewise. Bounded, so that the
suite stays fast: EXAMPLES calls of each kind per caller and store."""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from importlib.resources import files
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rest.instance_query import PARAMETERS
from app.rest.parameters import DATE_OPERATORS
from tests.conftest import org_token, user_token
from tests.rest import STORAGE, conforms

DEMO = files("app") / "demo"
EXAMPLES = 60
CALLERS: dict[str, Callable[[], str]] = {
    "service owner": lambda: org_token("ttd"),
    "end user": lambda: user_token("1", "1", auth_level=2),
}
# What each caller must name to list (Altinn: an org or app; an instance owner).
NAMED = {"service owner": {"org": "ttd"}, "end user": {"instanceOwner.partyId": "500000"}}
INSTANCE_IDS = ["1337/bd9edd59-b18c-4726-aa9e-6b150eade814", "500000/b4a67a9d-1ae0-406a-b3cd-314678b38662"]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _moments() -> st.SearchStrategy[str]:
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    aware = st.datetimes(timezones=st.one_of(st.just(UTC), offsets)).map(datetime.isoformat)
    return st.one_of(st.dates().map(str), st.datetimes().map(datetime.isoformat), aware, st.text(max_size=12))


DATES = st.builds(
    lambda op, moment: f"{op}:{moment}", st.sampled_from([*DATE_OPERATORS, "ne", "GT", "", "$lt"]), _moments()
)
VALUES = st.one_of(
    st.sampled_from(
        ["true", "false", "True", "1", "", "ttd", "skd", "ttd/skjema-a", "ttd/", "Task_1", "EndEvent_1", "500000"]
    ),
    st.sampled_from(["desc:lastChanged", "asc:lastChanged", "asc:created", "Read", "unread", "null", "%00", "+"]),
    st.integers(-5, 2000).map(str),
    DATES,
    st.text(max_size=20),
)
NAMES = st.one_of(
    st.sampled_from([p.name for p in PARAMETERS]),
    st.sampled_from([p.name.upper() for p in PARAMETERS]),
    st.sampled_from(["hard", "status", "$where", "appIds", "mainVersionInclude", "instanceOwner", "process"]),
    st.text(max_size=12),
)
QUERIES = st.lists(st.tuples(NAMES, VALUES), max_size=6)

# One path segment each, percent-encoded: no '/' or '.', which would make it another path.
SEGMENT = st.text(st.characters(exclude_characters="/.", exclude_categories=("Cs",)), min_size=1, max_size=40).map(
    lambda segment: quote(segment, safe="")
)
SEGMENTS = st.one_of(st.sampled_from(INSTANCE_IDS), st.tuples(SEGMENT, SEGMENT).map("/".join))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)
BODIES = st.one_of(
    st.fixed_dictionaries({"label": st.text(max_size=30)}, optional={"description": st.none() | st.text(max_size=30)}),
    st.dictionaries(st.sampled_from(["label", "description", "messageBoxLabel"]), JSON_VALUES, max_size=3),
    JSON_VALUES,
)
TAILS = st.sampled_from(["", "", "/substatus", "/undelete", "/complete", "/readstatus", "/events"])
METHODS = st.sampled_from(["GET", "DELETE", "PUT", "POST", "PATCH"])
INSTANCE_CALLS = st.tuples(METHODS, SEGMENTS, TAILS, QUERIES, BODIES, st.booleans())


def check(response: Any) -> None:
    """A 200 in its documented shape, or a 4xx problem; never a 5xx."""
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert response.headers["content-type"] == "application/json"
        return
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem = conforms(response.json(), "ProblemDetails")
    assert problem["code"] != "INTERNAL_SERVER_ERROR", problem


@pytest.mark.parametrize("caller", CALLERS)
def test_generated_rest_calls_never_fail_the_gateway(gateway_with, caller: str) -> None:
    instances = json.loads((DEMO / "instances.json").read_text())
    roles = json.loads((DEMO / "party-roles.json").read_text())
    headers = {"Authorization": f"Bearer {CALLERS[caller]()}"}
    with asyncio.Runner() as runner:
        gateway = gateway_with(instances, roles)
        gw = runner.run(gateway.__aenter__())
        try:
            first = runner.run(gw.http.get(STORAGE, params={**NAMED[caller], "size": "2"}, headers=headers)).json()
            token = first["next"].rpartition("continuationToken=")[2]
            tokens = st.sampled_from([token, token[:-1], token + "A", token.upper(), token[::-1]])
            sent = {"query": 0, "instance": 0}

            @SETTINGS
            @given(items=QUERIES, token=st.none() | tokens)
            def queries_answer_without_failing(items: list[tuple[str, str]], token: str | None) -> None:
                params = [*NAMED[caller].items(), *items, *([("continuationToken", token)] if token else [])]
                response = runner.run(gw.http.get(STORAGE, params=params, headers=headers))
                check(response)
                if response.status_code == 200:
                    conforms(response.json(), "QueryResponse")
                sent["query"] += 1

            @SETTINGS
            @given(instance_call=INSTANCE_CALLS)
            def instance_calls_answer_without_failing(instance_call: tuple[Any, ...]) -> None:
                method, instance_id, tail, items, body, send_body = instance_call
                content = json.dumps(body).encode() if send_body else None
                url = f"{STORAGE}/{instance_id}{tail}"
                response = runner.run(gw.http.request(method, url, params=items, content=content, headers=headers))
                check(response)
                sent["instance"] += 1

            queries_answer_without_failing()
            instance_calls_answer_without_failing()
            assert sent["query"] >= EXAMPLES and sent["instance"] >= EXAMPLES
        finally:
            runner.run(gateway.__aexit__(None, None, None))
