"""Where `serve` listens: a socket bound before anything says the gateway serves, and beyond
this machine only with a secret of the operator's own, unless told otherwise."""

import ipaddress
import socket


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, listening; OSError when the port is taken or the address is not
    this machine's. Connections wait in its backlog until the gateway has started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Named TCP, asyncio switches Nagle's algorithm off on each connection (it looks at the
    # protocol number, which a socket made with 0 does not carry): otherwise a response's body,
    # written after its head, waits for the client's delayed ACK, 40 ms on a kept-alive connection.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: no wait after a restart
        listening.bind((host, port))
        listening.listen()
    except OSError:
        listening.close()
        raise
    return listening
