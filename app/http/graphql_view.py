"""The GraphQL endpoint: Strawberry's ASGI view, with errors in GraphQL's shape at the
HTTP edge too (a body that is not JSON gets a 400 with a GraphQL error, not plain text)."""

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.errors import GatewayError
from app.graphql.context import Context
from app.http.graphiql import graphiql_response


def error_response(status_code: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status_code,
    )


_HTTP_ERROR_CODES = {
    400: "BAD_USER_INPUT",
    404: "NOT_FOUND",
    405: "BAD_USER_INPUT",
    415: "BAD_USER_INPUT",
}


class GraphQLView(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response: Response
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as error:
            code = _HTTP_ERROR_CODES.get(error.status_code, "BAD_USER_INPUT")
            response = error_response(error.status_code, error.reason, code)
        except GatewayError as error:
            response = error_response(401 if error.code == "UNAUTHENTICATED" else 400, error.message, error.code)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Served from the gateway itself (no CDN); prefilled with the app's development headers, if any.
        return graphiql_response(getattr(request.app.state, "graphiql_headers", None))

    async def get_context(self, request: Any, response: Any) -> Context | None:
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return None  # the GraphiQL page itself is open; its queries need a token
        return request.app.state.services.context_for(request)
