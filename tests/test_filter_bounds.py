"""The length bound on a filter's text, and a query the database refuses: both are the
caller's input to fix (BAD_USER_INPUT, a REST 400), never an internal error."""

from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError, OperationFailure

from app.errors import BadUserInput
from app.store.database import driver_errors
from app.store.filters import MAX_TEXT_LENGTH, compile_instance_filter
from tests.conftest import Store
from tests.factories import make_data_element, make_instance
from tests.rest import STORAGE, problem

LONGEST = "." * MAX_TEXT_LENGTH  # every character escaped: the longest regex the bound lets through
TOO_LONG = "a" * (MAX_TEXT_LENGTH + 1)

LIST = "query($filter: InstanceFilter) { instances(filter: $filter) { totalCount nodes { id } } }"
ELEMENTS = "query($element: DataElementFilter) { instances { nodes { data(filter: $element) { id } } } }"
DRY_RUN = "mutation($filter: InstanceFilter!) { deleteInstances(filter: $filter, dryRun: true) { matched } }"


def _long_text_filters(text: str) -> list[dict[str, Any]]:
    return [
        {"appId": {"startsWith": text}},
        {"appId": {"eq": text}},
        {"org": {"in": ["ttd", text]}},
        {"instanceOwner": {"partyId": {"nin": [text]}}},
        {"status": {"substatusLabel": {"ne": text}}},
        {"data": {"filename": {"startsWith": text}}},
        {"or": [{"not": {"createdBy": {"startsWith": text}}}]},
        {"excludeConfirmedBy": text},
    ]


@pytest.mark.parametrize("instance_filter", _long_text_filters(TOO_LONG))
async def test_text_past_the_bound_is_bad_user_input(gateway_with, instance_filter):
    async with gateway_with([make_instance()]) as gw:
        for query in (LIST, DRY_RUN):
            body = await gw.query(query, {"filter": instance_filter})
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
            assert f"at most {MAX_TEXT_LENGTH} characters" in body["errors"][0]["message"]


async def test_a_data_element_filter_past_the_bound_is_bad_user_input(gateway_with):
    async with gateway_with([make_instance(data=[make_data_element()])]) as gw:
        body = await gw.query(ELEMENTS, {"element": {"filename": {"startsWith": TOO_LONG}}})
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}, body


@pytest.mark.parametrize("instance_filter", _long_text_filters(LONGEST))
async def test_text_at_the_bound_runs_on_every_store(gateway_with, instance_filter):
    """At the bound, `startsWith` of characters that each need escaping is the longest regex
    the compiler makes; every store runs it."""
    async with gateway_with([make_instance(data=[make_data_element()])]) as gw:
        await gw.data(LIST, {"filter": instance_filter})
        await gw.data(DRY_RUN, {"filter": instance_filter})
        await gw.data(ELEMENTS, {"element": {"filename": {"startsWith": LONGEST}}})


def test_the_longest_prefix_regex_stays_within_the_smallest_store_cap():
    # SecantusDB refuses a pattern past 1,000 characters; MongoDB's cap is 16 KB or more.
    pattern = compile_instance_filter({"appId": {"startsWith": LONGEST}})["appId"]["$regex"]
    assert len(pattern) <= 1000


async def test_rest_parameters_past_the_bound_are_a_400(gateway_with):
    async with gateway_with([make_instance()]) as gw:
        body = await problem(gw, "GET", f"{STORAGE}?org=ttd&process.currentTask={TOO_LONG}", 400)
    assert f"at most {MAX_TEXT_LENGTH} characters" in body["detail"]


@pytest.mark.parametrize(
    ("code", "name"), [(2, "BadValue"), (51091, "Location51091"), (9, "FailedToParse"), (14, "TypeMismatch")]
)
def test_a_query_the_database_refuses_as_invalid_is_bad_user_input(code, name):
    refusal = OperationFailure("Regular expression is too long", code, {"errmsg": "too long", "codeName": name})
    with pytest.raises(BadUserInput, match="too long"), driver_errors(callers_filter=True):
        raise refusal


def test_a_command_of_the_gateway_s_own_the_database_refuses_stays_internal():
    # an update of the gateway's that the server cannot parse is a bug to log, not the caller's
    refusal = OperationFailure("'$set' is empty", 9, {"errmsg": "'$set' is empty", "codeName": "FailedToParse"})
    with pytest.raises(OperationFailure), driver_errors():
        raise refusal


def test_a_refused_write_stays_internal():
    with pytest.raises(DuplicateKeyError), driver_errors():
        raise DuplicateKeyError("E11000 duplicate key", 11000)


@pytest.mark.wire
@pytest.mark.parametrize("store", ["wire"], indirect=True)
async def test_a_read_the_server_refuses_is_bad_user_input(gateway_with, store: Store):
    refusal = {"failCommands": ["find", "aggregate", "count"], "errorCode": 51091}
    async with gateway_with([make_instance()]) as gw:
        with MongoClient(store.url, serverSelectionTimeoutMS=5000) as client:
            try:
                client.admin.command({"configureFailPoint": "failCommand", "mode": "alwaysOn", "data": refusal})
            except OperationFailure as error:
                pytest.skip(f"the server has no failCommand: {error}")
            try:
                body = await gw.query(LIST, {"filter": {"appId": {"startsWith": "ttd/"}}})
            finally:
                client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


def test_the_refusal_names_the_field_and_the_operator():
    with pytest.raises(BadUserInput, match=r"`appId\.startsWith` takes text of at most"):
        compile_instance_filter({"and": [{"org": {"eq": "ttd"}}, {"appId": {"startsWith": TOO_LONG}}]})
