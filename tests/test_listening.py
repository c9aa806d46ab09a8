"""The socket `serve` listens on: each connection it accepts sends small writes at once."""

import asyncio
import socket

from app.http.listening import listening_socket


async def test_the_connections_it_accepts_have_nagles_algorithm_off():
    # With it on, a response's body written after its head waits for the client's delayed ACK:
    # 40 ms for every request but the first on a kept-alive connection.
    accepted: asyncio.Future[socket.socket] = asyncio.get_running_loop().create_future()

    class Recorder(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport.get_extra_info("socket"))

    server = await asyncio.get_running_loop().create_server(Recorder, sock=listening_socket("127.0.0.1", 0))
    async with server:
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            connection = await asyncio.wait_for(accepted, 10)
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            writer.close()
