"""The HTTP server's edge (app/http/server.py, framing.py, lingering.py), byte by byte against a
live gateway: requests the parser refuses get JSON saying why, in the shape of the part of the
API they were meant for, and reach the client even while it is still sending."""

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest

from app.http import lingering
from app.http.framing import MAX_HEAD_BYTES, MAX_SIZE_LINE_BYTES, ChunkFraming
from tests.conftest import org_token
from tests.live_server import live_gateway

# A stalled request would be closed by these deadlines; every answer here must come well before.
SLOW = {"request_head_timeout_s": 60, "request_body_timeout_s": 60}
ANSWER_WITHIN_S = 10


@pytest.fixture(scope="module")
def gateway():
    with live_gateway(max_body_bytes=1000, **SLOW) as gateway:
        yield gateway


def exchange(gateway, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `data` on a new connection; the status, headers and body of the one answer, read
    until the server closes the connection (every answer here closes it)."""
    with socket.create_connection((gateway.host, gateway.port), timeout=ANSWER_WITHIN_S) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def graphql_error(headers: dict[str, str], body: bytes) -> dict:
    assert headers["content-type"] == "application/json"
    [error] = json.loads(body)["errors"]
    return error


def request(target: str, *headers: str, body: bytes = b"") -> bytes:
    return "\r\n".join([f"POST {target} HTTP/1.1", "Host: gateway", *headers, "", ""]).encode() + body


def head_of(size: int) -> bytes:
    """A GET /healthz whose request line and headers are `size` bytes in all."""
    start, end = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nX-Padding: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


MALFORMED = {
    "Content-Length and Transfer-Encoding": request(
        "{path}", "Content-Length: 5", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"
    ),
    "a Content-Length that is no number": request("{path}", "Content-Length: five"),
    "a NUL in a header": request("{path}", "X-Note: a\x00b", "Content-Length: 0"),
    "HTTP/0.9": b"GET {path}\r\n\r\n",
    "a chunk size that is no number": request("{path}", "Transfer-Encoding: chunked", body=b"zz\r\n"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_request_gets_a_graphql_error_and_a_closed_connection(gateway, case):
    status, headers, body = exchange(gateway, MALFORMED[case].replace(b"{path}", b"/graphql"))
    assert status == 400
    assert headers["connection"] == "close"
    error = graphql_error(headers, body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("The request is malformed: ")


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_request_under_storage_gets_problem_details(gateway, case):
    path = b"/storage/api/v1/instances"
    status, headers, body = exchange(gateway, MALFORMED[case].replace(b"{path}", path))
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["status"], problem["code"], problem["traceId"]) == (400, "BAD_USER_INPUT", headers["x-request-id"])
    assert problem["detail"].startswith("The request is malformed: ")


def as_head(data: bytes) -> bytes:
    """The same request with the method HEAD."""
    return b"HEAD " + data.partition(b" ")[2]


REFUSED_HEADS = {
    **{case: as_head(data) for case, data in MALFORMED.items()},
    "a head longer than the limit": as_head(head_of(MAX_HEAD_BYTES + 1)).replace(b"/healthz", b"{path}"),
    "a head over the limit arriving slowly": b"HEAD {path} HTTP/1.1\r\nX-Padding: " + b"a" * MAX_HEAD_BYTES,
}


@pytest.mark.parametrize("path", [b"/graphql", b"/storage/api/v1/instances"])
@pytest.mark.parametrize("case", REFUSED_HEADS)
def test_a_malformed_head_request_gets_the_refusal_s_head_only(gateway, caplog, case, path):
    status, headers, body = exchange(gateway, REFUSED_HEADS[case].replace(b"{path}", path))
    assert status in (400, 431)
    assert (headers["connection"], int(headers["content-length"]) > 0, body) == ("close", True, b"")
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def test_a_chunk_size_line_that_cannot_be_one_is_refused_before_it_ends(gateway):
    # The line has no end yet: the refusal comes at once, not at the body's deadline (60 s here).
    status, headers, body = exchange(gateway, request("/graphql", "Transfer-Encoding: chunked", body=b"zz"))
    assert status == 400
    assert "a chunk's size line is malformed" in graphql_error(headers, body)["message"]


@pytest.mark.parametrize("target", ["http://gateway/healthz", "HTTP://elsewhere:8000/healthz?probe=1"])
def test_an_absolute_form_target_is_served_as_its_path(gateway, target):
    status, _, body = exchange(gateway, f"GET {target} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    assert json.loads(body)["status"] == "ok"


def test_a_graphql_query_in_absolute_form(gateway):
    query = json.dumps({"query": "{ __typename }"}).encode()
    data = request(
        f"http://{gateway.host}:{gateway.port}/graphql",
        f"Authorization: Bearer {org_token()}",
        "Content-Type: application/json",
        f"Content-Length: {len(query)}",
        "Connection: close",
        body=query,
    )
    status, _, body = exchange(gateway, data)
    assert (status, json.loads(body)) == (200, {"data": {"__typename": "Query"}})


def test_the_head_limit_holds_when_the_whole_head_arrives_at_once(gateway):
    at_limit, _, _ = exchange(gateway, head_of(MAX_HEAD_BYTES))
    status, headers, body = exchange(gateway, head_of(MAX_HEAD_BYTES + 1))
    assert at_limit == 200
    assert status == 431
    assert f"longer than {MAX_HEAD_BYTES} bytes" in graphql_error(headers, body)["message"]


@pytest.mark.parametrize(
    ("path", "method"),
    [("/graphql", "POST"), ("/storage/api/v1/instances/1337/0f0f0f0f-0f0f-0f0f-0f0f-0f0f0f0f0f0f/substatus", "PUT")],
)
def test_a_413_reaches_a_client_that_sends_the_whole_body_before_reading(gateway, path, method):
    # urllib sends `Connection: close` and all of the body before it reads the answer; a server
    # closing at once with bytes unread resets the connection, and the answer is lost.
    sent = urllib.request.Request(
        gateway.http_url + path,
        data=b" " * 4_000_000,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {org_token()}"},
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(sent, timeout=ANSWER_WITHIN_S)
    assert answer.value.code == 413
    assert "larger than the limit of 1000 bytes" in answer.value.read().decode()


# --- ChunkFraming, fed the way bytes may arrive ----------------------------------------------

GOOD_BODIES = [
    b"5\r\nhello\r\n0\r\n\r\n",
    b"A;name=value\r\n0123456789\r\n0\r\n\r\n",
    b"5 \t\r\nhello\r\n00000\r\nTrailer: x\r\n\r\n",
    b"fff;ext\r\n" + b"x" * 0xFFF + b"\r\n0\r\n\r\n",
    b"1;a\rb\r\nx\r\n0\r\n\r\n",  # h11 lets an extension hold a lone CR
    b"1;" + b"e" * (MAX_SIZE_LINE_BYTES - 5) + b"\r\nx\r\n0\r\n\r\n",
]


@pytest.mark.parametrize("body", GOOD_BODIES, ids=range(len(GOOD_BODIES)))
@pytest.mark.parametrize("piece", [1, 2, 7, 1 << 30])
def test_good_chunk_framing_passes_however_it_is_cut(body, piece):
    framing = ChunkFraming()
    for at in range(0, len(body), piece):
        framing.feed(body[at : at + piece])
    assert framing.error is None


@pytest.mark.parametrize(
    ("body", "refused_after"),
    [
        (b"zz", b"z"),
        (b"5x", b"5x"),
        (b"-5\r\n", b"-"),
        (b"1" * 21, b"1" * 21),  # h11 reads at most 20 hex digits
        (b"5 ;ext\r\n", b"5 ;"),
        (b"5\nhello", b"5\n"),
        (b"5\r\nhello\r\n\r\n", b"5\r\nhello\r\n\r"),  # an empty size line
        (b"5\r\nhello\r\n2\r\nhi\r\nq", b"5\r\nhello\r\n2\r\nhi\r\nq"),
        (b"1;" + b"e" * MAX_SIZE_LINE_BYTES, b"1;" + b"e" * (MAX_SIZE_LINE_BYTES - 1)),
    ],
)
def test_bad_chunk_framing_is_refused_at_its_first_wrong_byte(body, refused_after):
    framing = ChunkFraming()
    for at in range(len(body)):
        framing.feed(body[at : at + 1])
        assert (framing.error is not None) == (at + 1 >= len(refused_after)), body[: at + 1]


def test_a_lingering_connection_whose_client_reads_nothing_ends_at_the_deadline(monkeypatch):
    monkeypatch.setattr(lingering, "LINGER_S", 0.2)
    with live_gateway(max_body_bytes=1000, send_buffer_bytes=4096, **SLOW) as gateway:
        connection = socket.socket()
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.connect((gateway.host, gateway.port))
        # Answers the client does not read fill the buffers, then a 413 for a body it is still
        # to send has the connection linger behind them; its deadline must end it all the same.
        healthz = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"
        connection.sendall(healthz * 200 + request("/graphql", "Content-Length: 100000"))
        asyncio.run(gateway.connections(1))
        asyncio.run(gateway.connections(0, timeout=ANSWER_WITHIN_S))
        connection.close()


def test_a_chunk_size_line_longer_than_the_limit_is_refused_even_whole():
    framing = ChunkFraming()
    framing.feed(b"1;" + b"e" * MAX_SIZE_LINE_BYTES + b"\r\nx\r\n0\r\n\r\n")
    assert framing.error == f"a chunk's size line is longer than {MAX_SIZE_LINE_BYTES} bytes"
