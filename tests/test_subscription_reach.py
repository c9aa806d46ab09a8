"""What can make a change concern a subscriber (app/subscriptions/reach.py): the orgs, apps
and parties a filter names, and those a document names."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.store.filters import compile_instance_filter
from app.store.matching import matcher
from app.subscriptions.reach import keys_of, reach_of
from app.subscriptions.visibility import Visibility
from tests.generated_changes import NOW, accesses, instance_documents, instance_filters


@pytest.mark.parametrize(
    ("instance_filter", "reach"),
    [
        ({"appId": {"eq": "ttd/a"}}, {("appId", "ttd/a")}),
        ({"instanceOwner": {"partyId": {"in": ["1", "2"]}}}, {("partyId", "1"), ("partyId", "2")}),
        # every condition holds at once: the one naming the fewest changes is kept
        ({"org": {"eq": "ttd"}, "appId": {"eq": "ttd/a"}}, {("appId", "ttd/a")}),
        (
            {"appId": {"in": ["ttd/a", "ttd/b"]}, "and": [{"instanceOwner": {"partyId": {"eq": "1"}}}]},
            {("partyId", "1")},
        ),
        ({"or": [{"org": {"eq": "ttd"}}, {"appId": {"eq": "digdir/x"}}]}, {("org", "ttd"), ("appId", "digdir/x")}),
        ({"or": []}, set()),  # matches nothing
    ],
)
def test_a_filter_reaches_the_orgs_apps_and_parties_it_names(instance_filter, reach):
    assert reach_of(instance_filter) == reach


@pytest.mark.parametrize(
    "instance_filter",
    [
        None,
        {"status": {"isSoftDeleted": False}},
        {"not": {"appId": {"eq": "ttd/a"}}},
        {"appId": {"ne": "ttd/a"}},
        {"or": [{"appId": {"eq": "ttd/a"}}, {"status": {"isArchived": True}}]},
    ],
)
def test_a_filter_that_names_none_for_sure_reaches_everything(instance_filter):
    assert reach_of(instance_filter) is None


def test_a_document_names_its_org_app_and_parties_through_arrays():
    document = {"org": "ttd", "appId": ["ttd/a", "ttd/b"], "instanceOwner": [{"partyId": "1"}, {"partyId": 2}]}
    assert keys_of(document) == {
        ("org", "ttd"),
        ("appId", "ttd/a"),
        ("appId", "ttd/b"),
        ("partyId", "1"),
        ("partyId", 2),
    }
    assert keys_of({"appId": {"not": "a string"}}) == set()
    assert keys_of(None) == set()


def _reached(reach: frozenset[Any] | None, document: dict[str, Any]) -> bool:
    return reach is None or bool(keys_of(document) & reach)


@settings(max_examples=300, deadline=None)
@given(instance_filters, instance_documents(key=1))
def test_every_document_a_filter_matches_names_a_key_of_its_reach(instance_filter, document):
    if matcher(compile_instance_filter(instance_filter))(document):
        assert _reached(reach_of(instance_filter), document)


@settings(max_examples=300, deadline=None)
@given(accesses, instance_filters, instance_documents(key=1))
def test_every_instance_a_subscriber_sees_names_a_key_of_its_reach(access, instance_filter, document):
    visibility = Visibility(access, instance_filter)
    if visibility.sees(document, NOW):
        assert _reached(visibility.reach, document)


@given(st.data())
def test_an_end_user_reaches_the_parties_of_their_roles_and_a_service_owner_its_org(data):
    access = data.draw(accesses)
    reach = Visibility(access, None).reach
    if access.caller.is_sync_adapter:
        assert reach is None
    elif access.caller.is_service_owner:
        assert ("org", access.caller.org) in reach
    else:
        assert reach <= {("partyId", party) for party in access.roles_by_party}
