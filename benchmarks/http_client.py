"""An HTTP/1.1 client with as little cost of its own as a client can have, and GraphQL requests."""

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import orjson


class HttpConnection:
    """One keep-alive HTTP/1.1 connection. Requests are prepared once as bytes; a response is
    read by its Content-Length (or its chunks) and not decoded, so that the time of a request
    is the server's and the network's, hardly the client's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int, host: str = "127.0.0.1") -> "HttpConnection":
        return cls(*await asyncio.open_connection(host, port, limit=1 << 20))

    @staticmethod
    def prepare(method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The status and the body of the response to one prepared request."""
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
        )
        if b"content-length" in headers:
            return status, await self._reader.readexactly(int(headers[b"content-length"]))
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            chunks = []
            while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append((await self._reader.readexactly(size + 2))[:-2])
            await self._reader.readuntil(b"\r\n")  # no trailers are sent to us
            return status, b"".join(chunks)
        raise RuntimeError(f"a response without Content-Length or chunks: {head!r}")

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


def graphql_request(query: str, variables: Mapping[str, Any], token: str) -> bytes:
    """POST /graphql of this query as the holder of `token`, prepared."""
    body = orjson.dumps({"query": query, "variables": dict(variables)})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return HttpConnection.prepare("POST", "/graphql", body, headers)


def graphql_data(status: int, body: bytes) -> dict[str, Any]:
    """The data of a GraphQL response that must have succeeded."""
    answer = orjson.loads(body) if body.startswith(b"{") else {}
    if status != 200 or answer.get("errors") or not answer.get("data"):
        raise RuntimeError(f"the gateway answered {status}: {body[:500]!r}")
    return answer["data"]
