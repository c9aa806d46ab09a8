"""A GraphQL-over-WebSocket client for the tests: either protocol, over a real connection."""

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"
_MESSAGES = {
    TRANSPORT_WS: {"subscribe": "subscribe", "stop": "complete", "result": "next"},
    LEGACY_WS: {"subscribe": "start", "stop": "stop", "result": "data"},
}
WAIT_S = 10


class GraphQLSocket:
    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol
        self._ids = itertools.count(1)

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """The next message that is not a keep-alive."""
        while True:
            message = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
            if message["type"] not in ("ping", "ka"):
                return message

    async def init_without_answer(self, token: str | None) -> None:
        await self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"} if token else {}})

    async def init(self, token: str | None) -> dict[str, Any]:
        await self.init_without_answer(token)
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        payload = {"query": query, "variables": variables or {}}
        await self.send({"type": _MESSAGES[self.protocol]["subscribe"], "id": operation_id, "payload": payload})
        return operation_id

    async def stop(self, operation_id: str) -> None:
        await self.send({"type": _MESSAGES[self.protocol]["stop"], "id": operation_id})

    async def result(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """The payload of the next result message."""
        message = await self.receive(timeout)
        assert message["type"] == _MESSAGES[self.protocol]["result"], message
        return message["payload"]

    async def nothing_for(self, seconds: float) -> None:
        """Asserts that no message but keep-alives arrives for `seconds`."""
        with contextlib.suppress(TimeoutError):
            message = await self.receive(seconds)
            raise AssertionError(f"expected nothing, got {message}")

    async def closed(self, timeout: float = WAIT_S) -> tuple[int, str]:
        """The close code and reason once the server closes; nothing else may arrive first."""
        try:
            message = await asyncio.wait_for(self.connection.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason
        raise AssertionError(f"expected the connection to close, got {message}")


@contextlib.asynccontextmanager
async def graphql_socket(url: str, protocol: str = TRANSPORT_WS, **options: Any) -> AsyncIterator[GraphQLSocket]:
    async with websockets.connect(url, subprotocols=[protocol], **options) as connection:  # type: ignore[list-item]
        yield GraphQLSocket(connection, protocol)


@contextlib.asynccontextmanager
async def subscribed(
    url: str, token: str, query: str, variables: dict[str, Any] | None = None, protocol: str = TRANSPORT_WS
) -> AsyncIterator[GraphQLSocket]:
    """A connection, initialised with `token`, with one subscription running."""
    async with graphql_socket(url, protocol) as socket:
        assert (await socket.init(token))["type"] == "connection_ack"
        await socket.subscribe(query, variables)
        yield socket
