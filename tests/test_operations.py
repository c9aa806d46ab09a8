"""Running the gateway: /healthz, /readyz, /metrics, the request id, one JSON log line per request."""

import json
import logging
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.logs import JsonFormatter
from tests.conftest import org_token, user_token
from tests.factories import make_instance

QUERY = "{ instances(first: 1) { totalCount } }"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _metrics(gw) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await gw.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


async def test_healthz_and_readyz_answer_when_the_database_does(gateway_with):
    async with gateway_with() as gw:
        health = await gw.http.get("/healthz")
        ready = await gw.http.get("/readyz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_metrics_count_requests_errors_latency_and_database_time(gateway_with):
    async with gateway_with([make_instance()]) as gw:
        await gw.data(QUERY)
        await gw.query("{ instances(first: -1) { totalCount } }")  # BAD_USER_INPUT
        await gw.query('mutation { restoreInstance(instanceId: "1337/none") { id } }')  # NOT_FOUND
        await gw.query(QUERY, token=None)  # 401 UNAUTHENTICATED, before any operation ran
        await gw.http.get("/healthz")
        await gw.http.get("/readyz")
        samples = await _metrics(gw)

    def requests(operation: str, outcome: str) -> float:
        return samples.get(("gateway_requests_total", (("operation", operation), ("outcome", outcome))), 0)

    assert (requests("query", "ok"), requests("query", "error")) == (1, 1)
    assert (requests("mutation", "ok"), requests("mutation", "error")) == (0, 1)
    assert (requests("none", "ok"), requests("none", "error")) == (0, 1)  # the probes are not counted
    errors = {labels[0][1]: value for (name, labels), value in samples.items() if name == "gateway_errors_total"}
    assert errors == {"BAD_USER_INPUT": 1, "NOT_FOUND": 1, "UNAUTHENTICATED": 1}
    latency = sum(v for (name, _), v in samples.items() if name == "gateway_request_duration_seconds_count")
    assert latency == 4
    # Both stores are timed the same way: around each store call the requests made.
    assert samples[("gateway_database_call_duration_seconds_count", ())] >= 2
    assert samples[("gateway_database_call_duration_seconds_sum", ())] > 0
    assert samples[("gateway_open_subscriptions", ())] == 0


async def test_each_gateway_keeps_its_own_figures(gateway_with):
    async with gateway_with() as first, gateway_with() as second:
        await first.data(QUERY)
        await first.data(QUERY)
        await second.data(QUERY)
        counts = [
            (await _metrics(gw))[("gateway_requests_total", (("operation", "query"), ("outcome", "ok")))]
            for gw in (first, second)
        ]
    assert counts == [2, 1]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42_a.B", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("two words", False),
        ("line\nbreak", False),
        ("ünïcode", False),
    ],
)
async def test_a_sane_request_id_is_kept_and_any_other_replaced(gateway_with, given, kept):
    async with gateway_with() as gw:
        response = await gw.http.post(
            "/graphql",
            json={"query": QUERY},
            headers={"Authorization": f"Bearer {org_token()}", "X-Request-ID": given.encode()},
        )
    echoed = response.headers["x-request-id"]
    if kept:
        assert echoed == given
    else:
        assert echoed != given
        assert len(echoed) == 32
        assert echoed.isalnum()


async def test_every_response_carries_a_request_id(gateway_with):
    async with gateway_with() as gw:
        responses = [await gw.http.get(path) for path in ("/healthz", "/readyz", "/metrics", "/nowhere")]
        responses.append(await gw.http.post("/graphql", json={"query": QUERY}))  # 401
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids)


async def test_one_json_log_line_per_request_names_the_caller_kind_never_the_token(gateway_with, caplog):
    caplog.set_level(logging.DEBUG, logger="instance_gateway")
    token = user_token("1337", "1337")
    async with gateway_with([make_instance()]) as gw:
        await gw.http.post(
            "/graphql",
            json={"query": "query Mine { instances(first: 1) { totalCount } }"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-1"},
        )
        await gw.query('mutation Undo { restoreInstance(instanceId: "1337/none") { id } }')
        await gw.http.get("/readyz")
    records = [r for r in caplog.records if r.name == "instance_gateway.requests"]
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    assert [(line["level"], line["path"]) for line in lines] == [
        ("INFO", "/graphql"),
        ("INFO", "/graphql"),
        ("DEBUG", "/readyz"),  # probes every few seconds: at DEBUG
    ]
    mine, undo, _ = lines
    assert mine["request_id"] == "trace-1"
    assert (mine["caller"], mine["operation"], mine["operation_name"]) == ("user", "query", "Mine")
    assert (mine["status"], mine["outcome"], mine["error_codes"]) == (200, "ok", [])
    assert mine["duration_ms"] >= mine["database_ms"] > 0
    assert (undo["caller"], undo["operation"], undo["operation_name"]) == ("org", "mutation", "Undo")
    assert (undo["outcome"], undo["error_codes"]) == ("error", ["NOT_FOUND"])
    assert all(token not in JsonFormatter().format(r) for r in caplog.records)


async def test_a_request_refused_before_graphql_runs_logs_its_code(gateway_with, caplog):
    caplog.set_level(logging.INFO, logger="instance_gateway")
    async with gateway_with() as gw:
        await gw.http.post("/graphql", json={"query": QUERY}, headers={"Authorization": "Bearer not-a-jwt"})
    [record] = [r for r in caplog.records if r.name == "instance_gateway.requests"]
    line = json.loads(JsonFormatter().format(record))
    assert (line["status"], line["caller"], line["operation"]) == (401, None, "none")
    assert line["error_codes"] == ["UNAUTHENTICATED"]
    assert "not-a-jwt" not in JsonFormatter().format(record)


async def test_a_masked_internal_error_carries_the_request_id_of_its_log_line(gateway_with, caplog):
    async with gateway_with([make_instance()]) as gw:

        def failing(*args, **kwargs):
            raise RuntimeError("secret internals")

        gw.http._transport.app.state.services.database.instances.count_documents = failing
        response = await gw.http.post(
            "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {org_token()}"}
        )
    [error] = response.json()["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "secret" not in error["message"]
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    line = json.loads(JsonFormatter().format(logged))
    assert line["request_id"] == request_id
    assert "secret internals" in line["traceback"]


def test_a_log_line_is_one_json_object_with_its_fields():
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        failure = sys.exc_info()
    fields = {"name": "x", "levelname": "ERROR", "msg": "failed %s", "args": ("here",), "exc_info": failure}
    record = logging.makeLogRecord({**fields, "request_id": "r"})
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == ("ERROR", "x", "failed here", "r")
    assert line["time"].endswith("+00:00")
    assert "ValueError: first\nsecond" in line["traceback"]
