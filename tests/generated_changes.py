"""Subscribers and changes drawn at random, for the change hub's property tests: callers of
every kind with roles over a few parties, filters that name orgs, apps and parties (or not,
or only inside `or`/`not`), and instance documents as messy as stored ones get (an app id or
an owner as an array, a party id as a number, a field missing)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from app.authorization.access import OWN_PARTY_ROLE, Access
from app.authorization.identity import SERVICE_OWNER_READ, SYNC_ADAPTER, Caller
from app.authorization.policy_repository import PolicyRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICIES = PolicyRepository.demo()
PARTIES = ["1337", "500", "501", "9"]
APPS = [*POLICIES.app_ids, "digdir/other"]
ORGS = ["ttd", "digdir", "TTD"]
ROLES = ["PRIV", "DAGL", "REGNA"]

_end_user = st.builds(
    lambda user, party, roles, level: Access(
        Caller(user_id=user, party_id=party, auth_level=level),
        {**roles, party: roles.get(party, frozenset()) | {OWN_PARTY_ROLE}},
        POLICIES,
    ),
    st.sampled_from(["1", "2"]),
    st.sampled_from(PARTIES),
    st.dictionaries(st.sampled_from(PARTIES), st.frozensets(st.sampled_from(ROLES), min_size=1), max_size=3),
    st.sampled_from([1, 2, 3]),
)
_service_owner = st.builds(
    lambda org, scopes: Access(Caller(org=org, auth_level=3, scopes=scopes), {}, POLICIES),
    st.sampled_from(["ttd", "digdir"]),
    st.sampled_from([frozenset({SERVICE_OWNER_READ}), frozenset({SERVICE_OWNER_READ, SYNC_ADAPTER})]),
)
accesses = st.one_of(_end_user, _service_owner)


def _string_filter(values: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    value = st.sampled_from(values)
    return st.one_of(
        st.builds(lambda v: {"eq": v}, value),
        st.builds(lambda vs: {"in": vs}, st.lists(value, max_size=3)),
        st.builds(lambda v, vs: {"eq": v, "in": vs}, value, st.lists(value, max_size=3)),
        st.builds(lambda v: {"ne": v}, value),
        st.builds(lambda v: {"startsWith": v[:2]}, value),
        st.builds(lambda e: {"exists": e}, st.booleans()),
    )


_leaf_filter = st.one_of(
    st.builds(lambda f: {"appId": f}, _string_filter(APPS)),
    st.builds(lambda f: {"org": f}, _string_filter(ORGS)),
    st.builds(lambda f: {"instanceOwner": {"partyId": f}}, _string_filter(PARTIES)),
    st.builds(lambda f: {"process": {"currentTask": f}}, _string_filter(["Task_1", "Task_2"])),
    st.builds(lambda soft: {"status": {"isSoftDeleted": soft}}, st.booleans()),
)
instance_filters = st.one_of(
    st.none(),
    st.recursive(
        _leaf_filter,
        lambda inner: st.one_of(
            st.builds(lambda fs: {"and": fs}, st.lists(inner, max_size=3)),
            st.builds(lambda fs: {"or": fs}, st.lists(inner, max_size=3)),
            st.builds(lambda f: {"not": f}, inner),
            st.builds(lambda a, b: {**a, **b}, inner, inner),
        ),
        max_leaves=5,
    ),
)


def _maybe_array(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, max_size=2))


@st.composite
def instance_documents(draw: st.DrawFn, key: int) -> dict[str, Any]:
    """One instance document with the _id `key`, as a store may hold it."""
    party = draw(st.one_of(st.sampled_from(PARTIES), st.just(1337)))
    owner = draw(st.one_of(st.just({"partyId": party}), st.just([{"partyId": party}, {"partyId": "9"}]), st.just({})))
    app_id = draw(_maybe_array(st.sampled_from(APPS)))
    document: dict[str, Any] = {
        "_id": key,
        "id": f"1337/{key}",  # an instance keeps its id whatever changes
        "instanceOwner": owner,
        "appId": app_id,
        "org": draw(_maybe_array(st.sampled_from(ORGS))),
        "process": draw(
            st.sampled_from(
                [
                    {"currentTask": {"elementId": "Task_1"}},
                    {"currentTask": {"elementId": "Task_2"}},
                    {"ended": NOW, "endEvent": "EndEvent_1"},
                ]
            )
        ),
        "status": {"isSoftDeleted": draw(st.booleans()), "isHardDeleted": draw(st.booleans())},
    }
    if draw(st.booleans()):
        document["visibleAfter"] = NOW + timedelta(days=draw(st.sampled_from([-1, 1])))
    return document
