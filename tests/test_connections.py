"""Slow and malicious connections, over raw sockets against the real server (uvicorn with the
protocol of `instance-gateway serve`): a request whose head or body does not arrive in time is
closed; a request with both Content-Length and Transfer-Encoding is refused and its connection
closed, so that a request smuggled in its body is never served."""

import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.conftest import org_token
from tests.live_server import live_gateway

HEAD_TIMEOUT = 0.5
BODY_TIMEOUT = 0.8
TYPENAME = f"/graphql?query={quote('{ __typename }')}"

Address = tuple[str, int]


@pytest.fixture(scope="module")
def server() -> Iterator[Address]:
    with live_gateway(request_head_timeout_s=HEAD_TIMEOUT, request_body_timeout_s=BODY_TIMEOUT) as gateway:
        yield gateway.host, gateway.port


def _received_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """What the server sends until it closes the connection, and how long that took; a server
    that keeps it open fails the test by the socket's timeout."""
    started, received = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received, time.monotonic() - started


def _connection(address: Address) -> socket.socket:
    return socket.create_connection(address, timeout=5)


def test_a_half_sent_request_head_is_closed_in_time(server):
    with _connection(server) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: gateway\r\n")
        received, seconds = _received_until_closed(sock)
    assert received == b""
    assert HEAD_TIMEOUT * 0.8 <= seconds < HEAD_TIMEOUT + 1


def test_a_head_trickling_in_does_not_extend_its_deadline(server):
    head = b"GET /graphql HTTP/1.1\r\nHost: gateway\r\nX-Slow: " + b"a" * 200

    def trickle(sock: socket.socket) -> None:
        for byte in head:  # a byte every 20 ms: 4 s for all, far past the deadline
            try:
                sock.send(bytes([byte]))
            except OSError:
                return  # closed by the server
            time.sleep(0.02)

    with _connection(server) as sock:
        sender = threading.Thread(target=trickle, args=(sock,))
        sender.start()
        received, seconds = _received_until_closed(sock)
        sender.join()
    assert received == b""
    assert seconds < HEAD_TIMEOUT + 1


def test_a_half_sent_body_is_closed_in_time(server, caplog):
    with _connection(server) as sock, caplog.at_level(logging.INFO):
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {org_token()}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"query": '
        )
        received, seconds = _received_until_closed(sock)
        time.sleep(0.1)  # the app's side of the disconnect
    assert received == b""
    assert BODY_TIMEOUT * 0.8 <= seconds < BODY_TIMEOUT + 1
    assert "the request body did not arrive in time" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


def test_the_next_request_on_a_kept_alive_connection_has_its_own_deadline(server):
    connection = http.client.HTTPConnection(*server, timeout=5)
    headers = {"Authorization": f"Bearer {org_token()}"}
    try:
        connection.request("GET", TYPENAME, headers=headers)
        assert connection.getresponse().read() == b'{"data":{"__typename":"Query"}}'
        sock = connection.sock
        time.sleep(HEAD_TIMEOUT * 2)  # idle, within uvicorn's keep-alive timeout (5 s)
        connection.request("GET", TYPENAME, headers=headers)
        assert connection.getresponse().read() == b'{"data":{"__typename":"Query"}}'
        assert connection.sock is sock, "the second request went over the same connection"
    finally:
        connection.close()


def _smuggling(content_length: bool) -> bytes:
    """A chunked POST whose body ends at once, then a GET hidden where a front end that reads
    Content-Length (4) would take it for the rest of the body."""
    first = b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
    if content_length:
        first += b"Content-Length: 4\r\n"
    first += b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    hidden = f"GET {TYPENAME} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {org_token()}\r\n\r\n"
    return first + hidden.encode()


def test_content_length_with_transfer_encoding_is_refused_and_nothing_smuggled_is_served(server):
    with _connection(server) as sock:
        sock.sendall(_smuggling(content_length=True))
        received, _ = _received_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in received.lower()
    assert received.count(b"HTTP/1.1 ") == 1
    assert b"__typename" not in received


def test_the_same_bytes_without_content_length_are_two_requests(server):
    # The control for the test above: the hidden request is a real one, served when it is not hidden.
    with _connection(server) as sock:
        sock.sendall(_smuggling(content_length=False) + b"GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n")
        received, _ = _received_until_closed(sock)
    assert received.count(b"HTTP/1.1 ") == 3
    assert b'{"data":{"__typename":"Query"}}' in received
