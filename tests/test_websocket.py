"""The WebSocket connection itself, over a real server: the token's places, clients that stop
reading, and each operation's request log line."""

import json
import logging
import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.logs import JsonFormatter
from app.store.change_feed import StoredChange
from tests.conftest import org_token, user_token
from tests.factories import make_instance
from tests.live_server import LiveGateway, live_gateway
from tests.websocket_client import LEGACY_WS, TRANSPORT_WS, graphql_socket

BULKY_CHANGES = "subscription { instanceChanged { instance { dataValues { key value } } } }"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    records = [r for r in caplog.records if r.name == "instance_gateway.requests"]
    return [json.loads(JsonFormatter().format(r)) for r in records]


async def changes_made(gateway: LiveGateway, instance_id: str, count: int) -> None:
    """`count` changes of one instance handed to the subscribers at once, as the store's feed would."""

    async def burst() -> None:
        stored = await gateway.database.instances.find_one({"id": instance_id})
        for _ in range(count):
            gateway.app.state.services.live.dispatch(
                StoredChange("update", stored["_id"], stored, stored, datetime.now(UTC))
            )

    await gateway.on_server(burst())


def unread_socket(gateway: LiveGateway) -> socket.socket:
    """A connected socket with a small receive window, so that unread messages back up at once."""
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.connect((gateway.host, gateway.port))
    connection.setblocking(False)
    return connection


@pytest.mark.parametrize(
    "payload_of",
    [
        lambda bearer: {"Authorization": bearer},
        lambda bearer: {"authorization": bearer},
        lambda bearer: {"headers": {"Authorization": bearer}},
        lambda bearer: {"headers": {"AUTHORIZATION": bearer}},
    ],
    ids=["top", "top-lower-case", "headers", "headers-upper-case"],
)
async def test_connection_init_takes_the_token_at_its_top_or_in_its_headers(payload_of):
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            await socket.send({"type": "connection_init", "payload": payload_of(f"Bearer {org_token()}")})
            assert await socket.receive() == {"type": "connection_ack"}


async def test_a_token_in_the_headers_of_connection_init_must_be_text():
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url) as socket:
            await socket.send({"type": "connection_init", "payload": {"headers": {"Authorization": 7}}})
            code, reason = await socket.closed()
            assert (code, reason) == (
                4401,
                "Unauthorized: the connection_init payload's Authorization must be a string",
            )


@pytest.mark.parametrize(
    ("queue_size", "close_code"),
    [(3, 1013), (1000, 1006)],
    ids=["dropped-as-too-slow-first", "only-stalled"],
)
async def test_a_client_that_stops_reading_is_cut_off_and_its_subscriptions_freed(caplog, queue_size, close_code):
    caplog.set_level(logging.INFO, logger="instance_gateway")
    doc = make_instance(party_id="500", dataValues={"note": "x" * 20_000})  # each event is ~20 KB
    with live_gateway([doc], subscription_queue_size=queue_size, websocket_send_timeout_s=0.5) as gateway:
        options = {"sock": unread_socket(gateway), "max_queue": 1, "close_timeout": 1}
        async with graphql_socket(gateway.ws_url, **options) as client:
            assert (await client.init(org_token()))["type"] == "connection_ack"
            for _ in range(100):
                await client.subscribe(BULKY_CHANGES)
            await gateway.subscribers(100)
            # From here on the client reads nothing: the events of two changes, 4 MB, fill its
            # connection's buffers. Then, with a short queue, its subscribers overflow and the
            # close frame (1013) waits behind what it has not read; with a long one, the sends
            # wait. Either way the send deadline cuts the connection (1006 unless said before).
            await changes_made(gateway, doc["id"], 2)
            await changes_made(gateway, doc["id"], 5)
            await gateway.subscribers(0, timeout=10)
            async with httpx.AsyncClient(base_url=gateway.http_url) as http:
                metrics = (await http.get("/metrics")).text
            assert "gateway_open_subscriptions 0.0" in metrics.splitlines()
    ended = [(line["operation"], line["outcome"], line["close_code"]) for line in request_lines(caplog)]
    assert ended == [("subscription", "error", close_code)] * 100
    assert "aborting a WebSocket connection: its client has read nothing for 0.5 s" in caplog.text


async def test_each_operation_leaves_a_request_log_line_with_how_its_connection_closed(caplog):
    caplog.set_level(logging.INFO, logger="instance_gateway")
    with live_gateway([make_instance()]) as gateway:
        async with graphql_socket(gateway.ws_url, additional_headers={"X-Request-ID": "socket-1"}) as socket:
            await socket.init(user_token())
            await socket.subscribe("query Mine { instances { totalCount } }")
            assert (await socket.result())["data"] == {"instances": {"totalCount": 1}}
            await socket.receive()  # complete
            await socket.send({"type": "subscribe", "id": "bad", "payload": {"query": 7}})
            assert (await socket.receive())["type"] == "error"
            await socket.subscribe("subscription Watch { instanceChanged { instanceId } }")
            await gateway.subscribers(1)
        # the client closes normally (1000): the subscription ends with the connection
        await gateway.subscribers(0)
    query, refused, watch = request_lines(caplog)
    assert query == {
        **query,
        "request_id": "socket-1",
        "method": "WEBSOCKET",
        "path": "/graphql",
        "status": 101,
        "outcome": "ok",
        "caller": "user",
        "operation": "query",
        "operation_name": "Mine",
        "error_codes": [],
        "close_code": None,
        "database_ms": None,
    }
    assert (refused["operation"], refused["outcome"], refused["error_codes"]) == ("none", "error", ["BAD_USER_INPUT"])
    assert (watch["operation"], watch["operation_name"], watch["outcome"], watch["close_code"]) == (
        "subscription",
        "Watch",
        "ok",
        1000,
    )
    assert all(line["duration_ms"] >= 0 for line in (query, refused, watch))


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize(
    ("headers", "payload_of", "where"),
    [
        ([], lambda bearer: {"Authorization": bearer, "authorization": bearer}, "connection_init payload"),
        ([], lambda bearer: {"Authorization": bearer, "headers": {"Authorization": bearer}}, "connection_init payload"),
        ([], lambda bearer: {"headers": {"authorization": bearer, "AUTHORIZATION": bearer}}, "connection_init payload"),
        ([("Authorization", "{bearer}")] * 2, lambda bearer: {}, "upgrade request"),
        ([("Authorization", "{bearer}")] * 2, lambda bearer: {"Authorization": bearer}, "upgrade request"),
    ],
    ids=["top-in-two-cases", "top-and-headers", "headers-in-two-cases", "upgrade", "upgrade-and-payload"],
)
async def test_more_than_one_authorization_is_refused_rather_than_one_chosen(protocol, headers, payload_of, where):
    bearer = f"Bearer {org_token()}"
    headers = [(name, value.format(bearer=bearer)) for name, value in headers]
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url, protocol, additional_headers=headers) as socket:
            await socket.send({"type": "connection_init", "payload": payload_of(bearer)})
            if protocol == LEGACY_WS:  # its clients tell their users of this, not of the close
                told = await socket.receive()
                assert told["type"] == "connection_error", told
            code, reason = await socket.closed()
            assert (code, reason) == (4400, f"Invalid message: the {where} has 2 Authorization fields: send one")
            if protocol == LEGACY_WS:
                assert told["payload"] == {"message": reason}


async def test_a_client_that_answers_no_ping_is_cut_off_though_little_is_left_unread(caplog):
    caplog.set_level(logging.INFO, logger="instance_gateway")
    doc = make_instance(party_id="500", dataValues={"note": "x" * 20_000})  # each event is ~20 KB
    # Pings every 0.3 s, each to be answered within 0.5 s.
    settings = {"subscription_keepalive_s": 0.3, "websocket_send_timeout_s": 0.5}
    with live_gateway([doc], send_buffer_bytes=4096, **settings) as gateway:
        options = {"sock": unread_socket(gateway), "max_queue": 1, "close_timeout": 1}
        async with graphql_socket(gateway.ws_url, **options) as client:
            assert (await client.init(org_token()))["type"] == "connection_ack"
            await client.subscribe(BULKY_CHANGES)
            await gateway.subscribers(1)
            # The client reads the first event and no more: the rest stays in the buffers,
            # tens of kilobytes in the server's own, too few for its writing to pause.
            await changes_made(gateway, doc["id"], 3)
            await gateway.subscribers(0, timeout=10)
    ended = [(line["operation"], line["outcome"], line["close_code"]) for line in request_lines(caplog)]
    assert ended == [("subscription", "error", 1006)]
    assert "aborting a WebSocket connection: its client answered no ping within 0.5 s" in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_close_waiting_behind_unread_messages_ends_at_the_send_deadline(caplog):
    caplog.set_level(logging.INFO, logger="instance_gateway")
    doc = make_instance(party_id="500", dataValues={"note": "x" * 20_000})
    with live_gateway([doc], send_buffer_bytes=4096, websocket_send_timeout_s=0.5) as gateway:
        options = {"sock": unread_socket(gateway), "max_queue": 1, "close_timeout": 1}
        async with graphql_socket(gateway.ws_url, **options) as client:
            assert (await client.init(org_token()))["type"] == "connection_ack"
            await client.subscribe(BULKY_CHANGES)
            await gateway.subscribers(1)
            await changes_made(gateway, doc["id"], 3)  # a few kilobytes stay in the server's buffer
            await client.connection.send("not json")  # the server closes (4400) behind them
            await gateway.connections(0, timeout=10)
    assert "aborting a WebSocket connection: its client has read nothing for 0.5 s" in caplog.text


async def test_a_connection_dropped_without_a_close_frame_ends_its_operations_in_error(caplog):
    caplog.set_level(logging.INFO, logger="instance_gateway")
    with live_gateway() as gateway:
        async with graphql_socket(gateway.ws_url) as client:
            await client.init(org_token())
            await client.subscribe("subscription { instanceChanged { instanceId } }")
            await gateway.subscribers(1)
            client.connection.transport.abort()  # the TCP connection ends, with no close frame
            await gateway.subscribers(0)
    [line] = request_lines(caplog)
    assert (line["outcome"], line["close_code"]) == ("error", 1005)
