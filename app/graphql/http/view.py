"""The GraphQL endpoint: Strawberry's ASGI view, with errors in GraphQL's shape at the HTTP
edge too (a body that is not a JSON object, too large, or a method other than GET and POST gets
a GraphQL error with a code, never plain text), in either media type of GraphQL over HTTP. A
document named by its hash (APQ, `documentId`) is resolved as the request's JSON is read."""

from collections.abc import AsyncIterator
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.config import Settings
from app.context import Context
from app.errors import GatewayError
from app.graphql.compiled.encoded import CHUNK_BYTES, chunks, encoded_parts
from app.graphql.http.graphiql import graphiql_response
from app.graphql.persisted import NOT_FOUND, NOT_SUPPORTED, PersistedDocuments
from app.http.authentication import development_headers
from app.http.limits import BodyTooLarge, receive_within
from app.http.media_types import GRAPHQL_RESPONSE_JSON, JSON, response_media_type
from app.http.request_json import InvalidJSON, decode_object

METHODS = ("GET", "POST")
ALLOW = {"Allow": ", ".join(METHODS)}
BEARER = {"WWW-Authenticate": "Bearer"}  # RFC 6750: the scheme a 401 asks for
# The parameters of a GraphQL request over GET: one value each, never a silent choice of one.
GET_PARAMETERS = ("query", "documentId", "operationName", "variables", "extensions")
# Apollo Server answers these 200, never to be cached (the document may be registered a moment
# later): Apollo Client stops sending hashes for good on a 400 or 500. GraphQL over HTTP's own
# media type needs a 4xx for an answer without data: these.
APQ_STATUS = {NOT_FOUND: 404, NOT_SUPPORTED: 400}
NOT_CACHED = {"Cache-Control": "private, no-cache, must-revalidate"}


def error_response(
    status_code: int, message: str, code: str, *, media_type: str = JSON, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A request that was never executed: as application/graphql-response+json without a `data`
    entry, as application/json with `"data": null`, as it always was."""
    errors = [{"message": message, "extensions": {"code": code}}]
    body = {"errors": errors} if media_type == GRAPHQL_RESPONSE_JSON else {"data": None, "errors": errors}
    return JSONResponse(body, status_code=status_code, headers=headers, media_type=media_type)


def _decoded(data: str | bytes) -> dict[str, Any]:
    try:
        return decode_object(data)
    except InvalidJSON as error:
        raise HTTPException(400, str(error)) from None


def _never_executed(response: GraphQLHTTPResponse) -> bool:
    # No data and no error with a path: the document did not parse or validate, or the
    # variables did not coerce. Errors during execution carry the path of their field.
    errors = response.get("errors") or []
    return response.get("data") is None and bool(errors) and all("path" not in error for error in errors)


def _failed_inside(response: GraphQLHTTPResponse) -> bool:
    # The gateway's own failure while it parsed or validated the document: not the request's fault.
    return any((error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR" for error in response["errors"])


def _response_of_parts(parts: list[bytes], sub_response: Response) -> Response:
    """A response encoded in parts (a compiled page): sent chunk by chunk as the connection
    takes them, so that it is never also held whole, nor copied into the socket's buffer."""
    size = sum(len(p) for p in parts)
    if size <= CHUNK_BYTES:
        response: Response = Response(b"".join(parts))
    else:

        async def content() -> AsyncIterator[bytes]:
            for chunk in chunks(parts):
                yield chunk

        response = StreamingResponse(content(), headers={"content-length": str(size)})
    response.status_code = sub_response.status_code or 200
    response.headers.raw.extend(sub_response.headers.raw)
    response.background = sub_response.background
    return response


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, settings: Settings, documents: PersistedDocuments) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None)
        self.settings = settings
        self.documents = documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self._respond(scope, receive)
        except ClientDisconnect:
            return  # the client has gone (or was timed out while sending): nobody to answer
        await response(scope, receive, send)

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        media_type = response_media_type(Headers(scope=scope).get("accept"))
        if scope["method"] not in METHODS:
            message = f"{scope['method']} is not allowed: GraphQL is served over GET and POST"
            return error_response(405, message, "BAD_USER_INPUT", media_type=media_type, headers=ALLOW)
        try:
            return await self.run(Request(scope, receive_within(self.settings.max_body_bytes, scope, receive)))
        except BodyTooLarge as error:
            return error_response(413, str(error), "BAD_USER_INPUT", media_type=media_type)
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError) and cause.operation_type is OperationType.SUBSCRIPTION:
                message = "subscriptions are served over WebSocket at /graphql (graphql-transport-ws or graphql-ws)"
                return error_response(400, message, "BAD_USER_INPUT", media_type=media_type)
            if isinstance(cause, InvalidOperationTypeError):
                # GraphQL over HTTP: a mutation over GET is 405, as it is allowed over POST only.
                return error_response(405, error.reason, "BAD_USER_INPUT", media_type=media_type, headers=ALLOW)
            return error_response(error.status_code, error.reason, "BAD_USER_INPUT", media_type=media_type)
        except GatewayError as error:
            if error.code == "UNAUTHENTICATED":
                return error_response(401, error.message, error.code, media_type=media_type, headers=BEARER)
            if error.code == "SERVICE_UNAVAILABLE":  # the token's keys cannot be had now
                return error_response(503, error.message, error.code, media_type=media_type)
            if error.code in APQ_STATUS:
                status = APQ_STATUS[error.code] if media_type == GRAPHQL_RESPONSE_JSON else 200
                # The log line and metrics read an error's code from the body of a 4xx only.
                Request(scope).state.request_record.error_codes.append(error.code)
                return error_response(status, error.message, error.code, media_type=media_type, headers=NOT_CACHED)
            return error_response(400, error.message, error.code, media_type=media_type)

    def encode_json(self, data: object) -> str | bytes:
        try:
            return orjson.dumps(data)
        except TypeError:  # a string that is not valid UTF-8 (a lone surrogate), say, in an error message
            return super().encode_json(data)

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        for name in GET_PARAMETERS:
            if len(params.getlist(name)) > 1:
                raise HTTPException(400, f"`{name}` is given more than once: give each parameter once")
        request = dict(params)
        for name in ("variables", "extensions"):
            if request.get(name):
                request[name] = _decoded(request[name])
        return self.documents.resolve(request)

    def parse_json(self, data: str | bytes) -> dict[str, Any]:
        # Strawberry decodes a POST's body here, the request itself; a GET's JSON parameters
        # are decoded above.
        return self.documents.resolve(_decoded(data))

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        if media_type == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict) and _never_executed(response_data):
            response_data = {key: value for key, value in response_data.items() if key != "data"}
            sub_response.status_code = 500 if _failed_inside(response_data) else 400
        parts = encoded_parts(response_data) if isinstance(response_data, dict) else None
        if parts is None:
            response = super().create_response(response_data, sub_response)
        else:
            response = _response_of_parts(parts, sub_response)
        response.headers["content-type"] = media_type
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # With GraphiQL switched off, a GET asking for HTML is a GraphQL request like any other;
        # so is one naming its document by hash, which Apollo Client sends accepting */*.
        named = any(name in request.query_params for name in ("documentId", "extensions"))
        return self.graphql_ide is not None and not named and super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Minted for each page, so that a page opened days after the start still has a valid token.
        headers = development_headers(self.settings)
        return graphiql_response(headers, host=request.headers.get("host"), trusted_only=self.documents.trusted_only)

    async def get_context(self, request: Any, response: Any) -> Context | None:
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return None  # the GraphiQL page itself is open; its queries need a token
        return await request.app.state.services.context_for(request)
