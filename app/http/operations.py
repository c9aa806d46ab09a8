"""The endpoints for whoever runs the gateway: is the process up, is it ready, its figures."""

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def healthz(request: Request) -> JSONResponse:
    """The process is up; nothing else is checked (a database outage is /readyz's business)."""
    return JSONResponse({"status": "ok", "embedded": request.app.state.settings.embedded})


async def readyz(request: Request) -> JSONResponse:
    """200 when the database is prepared and answers a ping in time; 503 saying why not."""
    reason = await request.app.state.readiness.reason_not_ready()
    if reason is not None:
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def operations_routes() -> list[Route]:
    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
