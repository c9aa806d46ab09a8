"""Altinn's query parameters become the same InstanceFilter that GraphQL's `filter` is, read
from an allow-list: pure functions, no gateway."""

from datetime import UTC, datetime

import pytest

from app.rest.instance_query import PARAMETERS, instances_query
from app.rest.parameters import ParameterError, read_query
from app.store.filters import compile_instance_filter
from app.store.ordering import SortKey


def query(*items: tuple[str, str], caller_org: str | None = "ttd", max_size: int = 1000):
    return instances_query(read_query(items, PARAMETERS), caller_org=caller_org, max_size=max_size)


def refused(*items: tuple[str, str], caller_org: str | None = "ttd") -> ParameterError:
    with pytest.raises(ParameterError) as raised:
        query(*items, caller_org=caller_org)
    return raised.value


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_the_seeds_query_is_the_graphql_draft_filter():
    seed = query(("appId", "ttd/skjema-a"), ("created", "lte:2020-09-30"), ("process.currentTask", "Task_1"))
    assert seed.instance_filter == {
        "appId": {"eq": "ttd/skjema-a"},
        "created": {"lte": utc(2020, 9, 30)},
        "process": {"currentTask": {"eq": "Task_1"}},
    }
    assert (seed.order, seed.size, seed.continuation_token) == (SortKey("lastChanged", descending=True), 100, None)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([("org", "ttd")], {"org": {"eq": "ttd"}}),
        ([("process.endEvent", "EndEvent_1")], {"process": {"endEvent": {"eq": "EndEvent_1"}}}),
        ([("instanceOwner.partyId", "0500")], {"instanceOwner": {"partyId": {"eq": "500"}}}),
        ([("process.isComplete", "TRUE")], {"process": {"isComplete": True}}),
        ([("status.isArchived", "false")], {"status": {"isArchived": False}}),
        ([("status.isSoftDeleted", "true")], {"status": {"isSoftDeleted": True}}),
        ([("status.isHardDeleted", "True")], {"status": {"isHardDeleted": True}}),
        (
            [("status.isArchived", "true"), ("status.isSoftDeleted", "false")],
            {"status": {"isArchived": True, "isSoftDeleted": False}},
        ),
        ([("lastChanged", "gt:2020-01-01T12:00:00Z")], {"lastChanged": {"gt": utc(2020, 1, 1, 12)}}),
        ([("dueBefore", "eq:2021-06-01")], {"dueBefore": {"eq": utc(2021, 6, 1)}}),
        ([("visibleAfter", "lt:2021-06-01T00:00:00")], {"visibleAfter": {"lt": utc(2021, 6, 1)}}),
        ([("process.ended", "gte:2020-05-02")], {"process": {"ended": {"gte": utc(2020, 5, 2)}}}),
        ([("excludeConfirmedBy", "skd")], {"excludeConfirmedBy": "skd"}),
        (
            [("excludeConfirmedBy", "skd"), ("excludeConfirmedBy", "ttd")],
            {"and": [{"excludeConfirmedBy": "skd"}, {"excludeConfirmedBy": "ttd"}]},
        ),
        ([("confirmed", "false")], {"excludeConfirmedBy": "ttd"}),
        ([("confirmed", "true")], {"not": {"excludeConfirmedBy": "ttd"}}),
        ([("confirmed", "false"), ("excludeConfirmedBy", "ttd")], {"excludeConfirmedBy": "ttd"}),
    ],
    ids=lambda value: "&".join(f"{k}={v}" for k, v in value) if isinstance(value, list) else "",
)
def test_each_parameter_becomes_its_filter_condition(items, expected):
    instance_filter = query(*items).instance_filter
    assert instance_filter == expected
    compile_instance_filter(instance_filter)  # and the store compiles it as it compiles GraphQL's


def test_a_repeated_date_makes_a_range_and_a_date_without_zone_is_utc():
    dates = query(("created", "gte:2020-01-01"), ("created", "lt:2020-02-01T00:00:00+01:00")).instance_filter
    assert dates == {"created": {"gte": utc(2020, 1, 1), "lt": utc(2020, 1, 31, 23)}}


def test_names_match_ignoring_case_as_altinn_does():
    assert query(("APPID", "ttd/a"), ("Process.CurrentTask", "Task_1")).instance_filter == {
        "appId": {"eq": "ttd/a"},
        "process": {"currentTask": {"eq": "Task_1"}},
    }


def test_size_order_and_token():
    paging = query(("size", "1000"), ("order", "asc:lastChanged"), ("continuationToken", "abc"))
    assert (paging.size, paging.order, paging.continuation_token) == (
        1000,
        SortKey("lastChanged", descending=False),
        "abc",
    )
    assert query(("order", "DESC:LASTCHANGED")).order == SortKey("lastChanged", descending=True)


@pytest.mark.parametrize(
    ("given", "descending"),
    [
        ("desc:created", True),
        ("DESC:anything", True),
        ("asc:created", False),
        ("newest", False),
        ("lastChanged", False),
    ],
)
def test_an_order_is_descending_only_when_it_starts_with_desc_as_altinn_reads_it(given, descending):
    # InstanceQueryParameters: _sort_ascending = !SortBy.StartsWith("desc:", OrdinalIgnoreCase); always by lastChanged
    assert query(("order", given)).order == SortKey("lastChanged", descending=descending)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([("A3Ref", "b7fe18ccff30")], {"id": {"endsWith": "b7fe18ccff30"}}),
        ([("A3Ref", "b7fe18ccff30"), ("mainVersionInclude", "2")], {"id": {"endsWith": "b7fe18ccff30"}}),
        (
            [("dataValues.A2ArchRef", "AR123"), ("mainVersionInclude", "3")],
            {"dataValues": [{"key": "A2ArchRef", "value": {"eq": "AR123"}}]},
        ),
        ([("mainVersionInclude", "3")], {}),
        ([("mainVersionExclude", "2")], {}),
        ([("mainVersionInclude", "2")], {"id": {"in": []}}),
        ([("mainVersionExclude", "3")], {"id": {"in": []}}),
    ],
)
def test_references_and_main_versions_as_altinns_query_defaults_set_them(items, expected):
    # InstancesControllerTests.GetMany_A2ArchRefProvided_TargetsMainVersion2, GetMany_A3RefProvided_TargetsMainVersion3
    assert query(*items).instance_filter == expected


@pytest.mark.parametrize(
    ("items", "parameter", "message"),
    [
        ([("appid", "ttd/a"), ("appId", "ttd/b")], "appId", "more than once"),
        ([("size", "5"), ("size", "6")], "size", "more than once"),
        ([("color", "red")], "color", "Unknown parameter 'color'"),
        ([("$where", "1")], "$where", "Unknown parameter"),
        ([("org", "")], "org", "is empty"),
        ([("status.isArchived", "yes")], "status.isArchived", "true or false"),
        ([("process.isComplete", "1")], "process.isComplete", "true or false"),
        ([("size", "0")], "size", "from 1 to 1000"),
        ([("size", "1001")], "size", "from 1 to 1000"),
        ([("size", "-1")], "size", "from 1 to 1000"),
        ([("size", "1e3")], "size", "from 1 to 1000"),
        ([("size", "9" * 5000)], "size", "from 1 to 1000"),
        ([("A3Ref", "b7fe18cc")], "A3Ref", "exactly 12 characters"),  # GetMany_A3RefInvalidLength_ReturnsBadRequest
        ([("A3Ref", "b7fe18ccff3012")], "A3Ref", "exactly 12 characters"),
        ([("mainVersionInclude", "three")], "mainVersionInclude", "from 1 to 3"),
        ([("mainVersionExclude", "4")], "mainVersionExclude", "from 1 to 3"),
        ([("includeDataElements", "no")], "includeDataElements", "true or false"),
        ([("created", "2020-09-30")], "created", "op:date"),
        ([("created", "lte2020-09-30")], "created", "op:date"),
        ([("created", "ne:2020-09-30")], "created", "op one of gt, gte, lt, lte, eq"),
        ([("created", "$gt:2020-09-30")], "created", "op:date"),
        ([("created", "lte:30.09.2020")], "created", "malformed date '30.09.2020'"),
        ([("created", "lte:2020-02-30")], "created", "malformed date"),
        ([("lastChanged", "gte:2020-01-01T00:00:00 01:00")], "lastChanged", "send it as %2B"),
        ([("dueBefore", "lt:0001-01-01T00:00:00+01:00")], "dueBefore", "malformed date"),
        ([("created", "gte:2020-01-01"), ("created", "gte:2020-02-01")], "created", "gte more than once"),
        ([("instanceOwner.partyId", "abc")], "instanceOwner.partyId", "party id"),
        ([("instanceOwner.partyId", "12345678901")], "instanceOwner.partyId", "party id"),
        ([("appId", "skjema-a")], "appId", "{org}/{app}"),
        ([("appId", "ttd/a/b")], "appId", "{org}/{app}"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(items, parameter, message):
    error = refused(*items)
    assert (error.code, error.parameter) == ("BAD_USER_INPUT", parameter)
    assert message in error.message


def test_confirmed_needs_a_service_owner():
    error = refused(("confirmed", "false"), caller_org=None)
    assert error.parameter == "confirmed"
    assert "service owner" in error.message
    # an end user says whose confirmations to leave out
    assert query(("excludeConfirmedBy", "ttd"), caller_org=None).instance_filter == {"excludeConfirmedBy": "ttd"}


def test_a_smaller_configured_page_size_is_the_limit():
    assert query(("size", "200"), max_size=200).size == 200
    with pytest.raises(ParameterError, match="from 1 to 200"):
        query(("size", "201"), max_size=200)


def test_values_are_data_never_operators():
    # A value that looks like an operator document is compared as text.
    assert query(("org", '{"$ne": null}')).instance_filter == {"org": {"eq": '{"$ne": null}'}}
    assert compile_instance_filter(query(("process.currentTask", "$gt")).instance_filter) == {
        "process.currentTask.elementId": "$gt"
    }
