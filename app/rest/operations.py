"""The REST endpoints' plumbing. Each operation is declared once (method, path, parameters,
body, answer, handler); the routes and the OpenAPI document are both made from the
declarations. Every call takes the same steps: the caller's token (401), the allow-listed
parameters (400), the handler, and any error as problem details with its status."""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.context import Context
from app.errors import BadUserInput, GatewayError
from app.http.limits import BodyTooLarge, receive_within
from app.http.request_json import InvalidJSON, decode_object
from app.request_record import RequestRecord
from app.rest.parameters import Parameter, guid, party_id, read_query
from app.rest.responses import INTERNAL_ERROR, json_answer, problem, problem_of

log = logging.getLogger("instance_gateway")


@dataclass(frozen=True)
class Call:
    """One call of an operation: the request, the caller's context, and the allow-listed
    query parameters by name."""

    request: Request
    context: Context
    query: dict[str, list[str]]

    @property
    def instance_id(self) -> str:
        """{partyId}/{instanceGuid} of the path, each checked."""
        path = self.request.path_params
        return f"{party_id('partyId', path['partyId'])}/{guid('instanceGuid', path['instanceGuid'])}"

    async def json_object(self) -> dict[str, Any]:
        """The body, a JSON object, read within the body limit and decoded strictly as the
        GraphQL endpoint decodes its requests."""
        request = self.request
        limited = Request(
            request.scope, receive_within(self.context.settings.max_body_bytes, request.scope, request.receive)
        )
        try:
            return decode_object(await limited.body())
        except InvalidJSON as error:
            raise BadUserInput(str(error)) from None


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # Starlette's form: /storage/api/v1/instances/{partyId}/{instanceGuid}
    operation_id: str
    summary: str
    handler: Handler
    answer: str  # the component schema of the 200 answer's body
    query: tuple[Parameter, ...] = ()
    headers: tuple[Parameter, ...] = ()  # request headers it reads beyond Authorization
    body: str | None = None  # the component schema of the request body, if it takes one
    errors: tuple[int, ...] = (400, 401, 403, 404, 503)


async def respond(operation: Operation, request: Request) -> Response:
    record: RequestRecord = request.state.request_record
    # The request log and the metrics report a read as a query and a change as a mutation, named
    # by the operation's id, like the GraphQL operations beside them.
    record.operation_type = "query" if operation.method == "GET" else "mutation"
    record.operation_name = operation.operation_id
    try:
        context = await request.app.state.services.context_for(request)
        query = read_query(request.query_params.multi_items(), operation.query)
        return json_answer(await operation.handler(Call(request, context, query)))
    except GatewayError as error:
        record.error_codes = [error.code]
        return problem_of(error, record.request_id)
    except BodyTooLarge as error:
        record.error_codes = ["BAD_USER_INPUT"]
        return problem(413, str(error), "BAD_USER_INPUT", record.request_id)
    except ClientDisconnect:
        raise
    except Exception:
        log.exception("%s failed", operation.operation_id, extra={"request_id": record.request_id})
        record.error_codes = ["INTERNAL_SERVER_ERROR"]
        return problem(500, INTERNAL_ERROR, "INTERNAL_SERVER_ERROR", record.request_id)


class Resource:
    """One path: its operations by method; another method gets 405 with Allow."""

    def __init__(self, operations: Sequence[Operation]) -> None:
        self._by_method = {o.method: o for o in operations}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = self._by_method.get(scope["method"])
        if operation is None:
            # Answered by the app's handler of HTTP errors, in problem details as under /storage/.
            raise HTTPException(405, headers={"Allow": ", ".join(self._by_method)})
        try:
            response = await respond(operation, Request(scope, receive))
        except ClientDisconnect:
            return  # the client has gone: nobody to answer
        await response(scope, receive, send)


def routes(operations: Sequence[Operation]) -> list[Route]:
    by_path: dict[str, list[Operation]] = {}
    for operation in operations:
        by_path.setdefault(operation.path, []).append(operation)
    # An ASGI app as the endpoint: every method reaches it, so that a 405 lists all the path takes.
    return [Route(path, Resource(ops)) for path, ops in by_path.items()]
