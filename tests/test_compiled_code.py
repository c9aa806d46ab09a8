"""The generated code and its helpers (app/graphql/compiled/): what they read is what the general
executor reads, and no string of a query ever becomes Python source."""

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from graphql import Executor, parse
from hypothesis import given
from hypothesis import strategies as st

from app.config import Settings
from app.graphql.compiled.codegen import generate
from app.graphql.compiled.leaves import check_timestamp, datetime_text
from app.graphql.compiled.plan import NotCompilable, plan_operation
from app.graphql.schema import build_schema
from app.values import timestamp

SCHEMA = build_schema(Settings(_env_file=None))
DATE_TIME = SCHEMA._schema.type_map["DateTime"]


def compiled(query: str, variables: dict | None = None):
    executor = Executor.build(SCHEMA._schema, parse(query), raw_variable_values=variables)
    assert isinstance(executor, Executor), executor
    return generate(plan_operation(SCHEMA, executor.fragments, executor.variable_values, executor.operation))


zones = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)
stored_dates = st.one_of(
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone), st.datetimes(), zones),
    st.sampled_from(["2020-11-18T15:56:41.566Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "x"]),
    st.none(),
)


@given(stored_dates)
def test_a_stored_date_time_reads_as_the_datetime_scalar_writes_it(value):
    try:
        moment = timestamp(value)
    except OverflowError:
        with pytest.raises(OverflowError):
            datetime_text(value)
        with pytest.raises(OverflowError):
            check_timestamp(value)
        return
    assert datetime_text(value) == (None if moment is None else DATE_TIME.coerce_output_value(moment))
    check_timestamp(value)  # raises only what reading it raises


def test_a_year_before_1000_is_written_as_strftime_writes_it():
    value = datetime(999, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert datetime_text(value) == DATE_TIME.coerce_output_value(value)


def test_no_string_of_the_query_is_in_the_generated_source():
    query = """query Q {
      zzAlias: instances(first: 2) {
        yyNodes: nodes { xxId: id status { wwRead: readStatus } ...F }
      }
    }
    fragment F on Instance { vvData: data(filter: {dataType: {eq: "uuValue"}}) { id } }"""
    code = compiled(query)
    for name in ("zzAlias", "yyNodes", "xxId", "wwRead", "vvData", "uuValue", "readStatus", "instanceOwner"):
        assert name not in code.source
    assert re.search(r"\b_s\d+\b", code.source)  # the placeholders that became the strings


def test_the_generated_code_has_only_a_few_builtins():
    code = compiled("{ instances { nodes { id } } }")
    (build,) = code.builders
    assert set(build.__globals__["__builtins__"]) == {
        "isinstance",
        "dict",
        "list",
        "str",
        "int",
        "bool",
        "enumerate",
        "zip",
    }


@pytest.mark.parametrize(
    "query",
    [
        'mutation { deleteInstance(instanceId: "1/2") { id } }',
        "{ __schema { types { name } } }",
        '{ __type(name: "Instance") { name } }',
        "{ instances { nodes { id } } __schema { queryType { name } } }",
    ],
    ids=["mutation", "schema", "type", "a page and introspection"],
)
def test_what_plans_do_not_cover_is_not_compiled(query):
    with pytest.raises(NotCompilable):
        compiled(query)
