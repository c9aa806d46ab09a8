"""The OpenAPI 3.1 document of the REST endpoints, made from their declarations (paths,
parameters, bodies, answers) and the API JSON models, so it cannot drift from what is served.
`openapi.json` at the repository root is its checked-in copy (`instance-gateway export-openapi`)."""

import functools
import json
from http import HTTPStatus
from importlib.metadata import version
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.errors import STATUS_OF_CODE
from app.problem_details import PROBLEM_JSON
from app.rest.endpoints import OPERATIONS
from app.rest.model import INSTANCE, INSTANCE_EVENT, definitions
from app.rest.operations import Operation
from app.rest.parameters import Parameter
from app.rest.responses import json_answer
from app.rest.studio import SIMPLE_INSTANCE

OPENAPI_PATH = "/storage/api/v1/openapi.json"
Schema = dict[str, Any]

_PATH_PARAMETERS = {
    "partyId": Parameter("partyId", "The instance owner's party id.", {"type": "string", "pattern": "^[0-9]{1,10}$"}),
    "instanceGuid": Parameter("instanceGuid", "The instance's GUID.", {"type": "string", "format": "uuid"}),
    "eventGuid": Parameter("eventGuid", "The event's GUID.", {"type": "string", "format": "uuid"}),
    "org": Parameter("org", "The app owner's org code, e.g. ttd.", {"type": "string"}),
    "app": Parameter("app", "The app's name, e.g. skjema-a.", {"type": "string"}),
}

_SCHEMAS: dict[str, Schema] = {
    "QueryResponse": {
        "type": "object",
        "description": "One page of a query. `next` is left out on the last page.",
        "properties": {
            "count": {"type": "integer", "description": "The number of instances on this page."},
            "self": {"type": "string", "format": "uri", "description": "This page."},
            "next": {"type": "string", "format": "uri", "description": "The next page; absent on the last."},
            "instances": {"type": "array", "items": {"$ref": "#/components/schemas/Instance"}},
        },
        "required": ["count", "self", "instances"],
        "additionalProperties": False,
    },
    "Restored": {"type": "boolean", "const": True, "description": "The instance is out of the recycle bin."},
    "SimpleInstanceQueryResponse": {
        "type": "object",
        "description": "One page of Altinn Studio's list: `next` is the continuation token, null on the last page.",
        "properties": {
            "count": {"type": "integer"},
            "self": {"type": "null"},
            "next": {"type": ["string", "null"]},
            "instances": {"type": "array", "items": {"$ref": "#/components/schemas/SimpleInstance"}},
        },
        "required": ["count", "self", "next", "instances"],
        "additionalProperties": False,
    },
    "InstanceEventList": {
        "type": "object",
        "properties": {"instanceEvents": {"type": "array", "items": {"$ref": "#/components/schemas/InstanceEvent"}}},
        "required": ["instanceEvents"],
        "additionalProperties": False,
    },
    "SubstatusInput": {
        "type": "object",
        "description": "Replaces the substatus whole; the message box shows at most 25 characters of the label.",
        "properties": {
            "label": {"type": "string", "minLength": 1},
            "description": {"type": ["string", "null"]},
        },
        "required": ["label"],
        "additionalProperties": False,
    },
    "ProblemDetails": {
        "type": "object",
        "description": "An error (RFC 9457), as ASP.NET Core writes it; `errors` names a bad parameter.",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "What is wrong."},
            "code": {"type": "string", "enum": [*STATUS_OF_CODE, "INTERNAL_SERVER_ERROR"]},
            "traceId": {"type": "string", "description": "The request's X-Request-ID, as its log line has it."},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
        "required": ["type", "title", "status", "detail", "code", "traceId"],
    },
}


def _reference(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _query_parameter(parameter: Parameter) -> Schema:
    described = {"name": parameter.name, "in": "query", "description": parameter.description}
    if parameter.repeatable:
        return {**described, "schema": {"type": "array", "items": parameter.schema}, "style": "form", "explode": True}
    return {**described, "schema": parameter.schema}


def _header_parameter(parameter: Parameter) -> Schema:
    return {"name": parameter.name, "in": "header", "description": parameter.description, "schema": parameter.schema}


def _path_parameters(path: str) -> list[Schema]:
    return [
        {"name": p.name, "in": "path", "required": True, "description": p.description, "schema": p.schema}
        for name, p in _PATH_PARAMETERS.items()
        if f"{{{name}}}" in path
    ]


def _operation(operation: Operation) -> Schema:
    described: Schema = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "parameters": _path_parameters(operation.path)
        + [_query_parameter(p) for p in operation.query]
        + [_header_parameter(p) for p in operation.headers],
    }
    if operation.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _reference(operation.body)}},
        }
    described["responses"] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _reference(operation.answer)}}},
        **{str(status): {"$ref": f"#/components/responses/{status}"} for status in operation.errors},
    }
    return described


def _problem_responses() -> dict[str, Schema]:
    statuses = sorted({status for operation in OPERATIONS for status in operation.errors})
    return {
        str(status): {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": _reference("ProblemDetails")}},
        }
        for status in statuses
    }


@functools.cache
def openapi_document() -> Schema:
    paths: dict[str, Schema] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    paths[OPENAPI_PATH] = {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "instance-gateway: Altinn Storage's instance calls",
            "version": version("instance-gateway"),
            "description": (
                "Altinn Storage's REST calls for instances, answered as Altinn answers them, over the same filter, "
                "read predicate and actions as the GraphQL API at /graphql."
            ),
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {**definitions(INSTANCE, INSTANCE_EVENT, SIMPLE_INSTANCE), **_SCHEMAS},
            "responses": _problem_responses(),
        },
    }


def openapi_text() -> str:
    """The document as `openapi.json` holds it."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


async def serve_openapi(request: Request) -> Response:
    return json_answer(openapi_document())
