"""The REST edge's routes, mounted beside /graphql in the same Starlette app, so that the
same middleware (request ids, logs, metrics, CORS) serves them."""

from starlette.routing import Route

from app.rest.endpoints import OPERATIONS
from app.rest.openapi import OPENAPI_PATH, serve_openapi
from app.rest.operations import routes


def rest_routes() -> list[Route]:
    return [Route(OPENAPI_PATH, serve_openapi, methods=["GET"]), *routes(OPERATIONS)]
