"""The OpenAPI 3.1 document of the REST endpoints: valid by a real validator, checked in as
openapi.json and regenerated like schema.graphql, served by the gateway, and true to what the
gateway serves (every answer in the REST tests is checked against its schemas)."""

import contextlib
import io
import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from app.cli import main
from app.rest.openapi import OPENAPI_PATH
from tests.rest import call, problem

OPENAPI_FILE = Path(__file__).parent.parent / "openapi.json"
DOCUMENT = json.loads(OPENAPI_FILE.read_text())
OPERATIONS = [(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item]
GUARDED = [(path, method) for path, method in OPERATIONS if path != OPENAPI_PATH]
EXAMPLE_PATH_PARAMETERS = {
    "partyId": "500",
    "instanceGuid": "bd9edd59-b18c-4726-aa9e-6b150eade814",
    "eventGuid": "c8a44353-114a-48fc-af8f-b85392793cb2",
    "org": "ttd",
    "app": "skjema-a",
}


def test_the_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


def test_the_checked_in_document_is_the_exported_one():
    exported = io.StringIO()
    with contextlib.redirect_stdout(exported):
        assert main(["export-openapi"]) == 0
    assert OPENAPI_FILE.read_text() == exported.getvalue(), "run `make schema` and commit openapi.json"


def test_the_owner_identifier_header_is_declared_where_the_list_reads_it():
    listing = DOCUMENT["paths"]["/storage/api/v1/instances"]["get"]
    [header] = [p for p in listing["parameters"] if p["in"] == "header"]
    assert header["name"] == "X-Ai-InstanceOwnerIdentifier"


async def test_the_gateway_serves_the_document_without_a_token(gateway_with):
    async with gateway_with() as gw:
        response = await call(gw, "GET", OPENAPI_PATH, token=None)
    assert response.status_code == 200
    assert response.json() == DOCUMENT


@pytest.mark.parametrize(("path", "method"), GUARDED, ids=[f"{m} {p}" for p, m in GUARDED])
async def test_every_documented_operation_is_served_and_needs_a_token(gateway_with, path, method):
    concrete = path.format(**EXAMPLE_PATH_PARAMETERS)
    async with gateway_with() as gw:
        body = await problem(gw, method, concrete, 401, token=None)
    assert body["code"] == "UNAUTHENTICATED"


def test_the_seeds_calls_are_in_the_document():
    query = DOCUMENT["paths"]["/storage/api/v1/instances"]["get"]
    names = {p["name"] for p in query["parameters"]}
    assert {"appId", "created", "process.currentTask", "continuationToken", "size", "order"} <= names
    assert "delete" in DOCUMENT["paths"]["/{org}/{app}/instances/{partyId}/{instanceGuid}"]
    created = next(p for p in query["parameters"] if p["name"] == "created")
    assert (created["schema"]["type"], created["explode"]) == ("array", True)  # repeatable for a range
