"""Helpers for the REST tests: calls as a given caller, and the OpenAPI document's schemas,
which every answer is checked against."""

from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator

from app.rest.openapi import openapi_document
from tests.conftest import SERVICE_OWNER, Gateway, org_token

STORAGE = "/storage/api/v1/instances"


async def call(
    gw: Gateway, method: str, url: str, *, token: str | None = SERVICE_OWNER, **kwargs: Any
) -> httpx.Response:
    """A request as the service owner ttd unless another token is given; token=None sends none."""
    if token == SERVICE_OWNER:
        token = org_token("ttd")
    headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    return await gw.http.request(method, url, headers=headers, **kwargs)


def conforms(body: Any, schema: str) -> Any:
    """`body`, after checking it against the named component schema of the OpenAPI document."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": openapi_document()["components"]}
    OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER).validate(body)
    return body


async def ok(gw: Gateway, method: str, url: str, schema: str = "Instance", **kwargs: Any) -> Any:
    """The body of a call that must answer 200, checked against its schema."""
    response = await call(gw, method, url, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return conforms(response.json(), schema)


async def problem(gw: Gateway, method: str, url: str, status: int, **kwargs: Any) -> dict[str, Any]:
    """The problem details of a call that must answer `status`."""
    response = await call(gw, method, url, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = conforms(response.json(), "ProblemDetails")
    assert body["status"] == status
    assert body["traceId"] == response.headers["x-request-id"]
    return body
