"""The XACML evaluator: table-driven decisions, malformed policies, and the state pushdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.authorization.policy import (
    PermittedStates,
    PolicyError,
    ResourceState,
    Subject,
    is_permitted,
    parse_policy,
    permitted_states,
)

FIXTURES = Path(__file__).parent / "fixtures" / "policies"
SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
EQUAL = "urn:oasis:names:tc:xacml:1.0:function:string-equal"
EQUAL_IGNORE_CASE = "urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case"
DENY_OVERRIDES = "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"
PERMIT_OVERRIDES = "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:permit-overrides"
MIN_LEVEL = "urn:altinn:minimum-authenticationlevel"
MIN_LEVEL_ORG = "urn:altinn:minimum-authenticationlevel-org"


# --- building policies in the shape Altinn Studio writes them ------------------------------


def match(attribute_id: str, category: str, value: str, match_id: str = EQUAL) -> str:
    return (
        f'<xacml:Match MatchId="{match_id}">'
        f'<xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{value}'
        "</xacml:AttributeValue>"
        f'<xacml:AttributeDesignator AttributeId="{attribute_id}" Category="{category}" '
        'DataType="http://www.w3.org/2001/XMLSchema#string" MustBePresent="false"/>'
        "</xacml:Match>"
    )


def role(code: str, match_id: str = EQUAL_IGNORE_CASE) -> str:
    return match("urn:altinn:rolecode", SUBJECT, code, match_id)


def org(code: str, match_id: str = EQUAL) -> str:
    return match("urn:altinn:org", SUBJECT, code, match_id)


def resource(attribute: str, value: str, match_id: str = EQUAL) -> str:
    return match(f"urn:altinn:{attribute}", RESOURCE, value, match_id)


def action(name: str, match_id: str = EQUAL) -> str:
    return match("urn:oasis:names:tc:xacml:1.0:action:action-id", ACTION, name, match_id)


THIS_APP = resource("org", "ttd") + resource("app", "skjema")


def any_of(*all_ofs: str) -> str:
    """One AnyOf; each argument is the concatenated Matches of one AllOf."""
    return "<xacml:AnyOf>" + "".join(f"<xacml:AllOf>{m}</xacml:AllOf>" for m in all_ofs) + "</xacml:AnyOf>"


def obligations(*levels: tuple[str, str], fulfill_on: str = "Permit") -> str:
    expressions = "".join(
        f'<xacml:ObligationExpression ObligationId="urn:altinn:obligation:{n}" FulfillOn="{fulfill_on}">'
        f'<xacml:AttributeAssignmentExpression AttributeId="urn:altinn:obligation{n}-assignment{n}" '
        f'Category="{category}"><xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#integer">'
        f"{level}</xacml:AttributeValue></xacml:AttributeAssignmentExpression></xacml:ObligationExpression>"
        for n, (category, level) in enumerate(levels, start=1)
    )
    return f"<xacml:ObligationExpressions>{expressions}</xacml:ObligationExpressions>"


def rule(*any_ofs: str, effect: str = "Permit", extra: str = "") -> str:
    target = "<xacml:Target>" + "".join(any_ofs) + "</xacml:Target>"
    return f'<xacml:Rule RuleId="r" Effect="{effect}">{target}{extra}</xacml:Rule>'


def policy(*rules: str, extra: str = "", algorithm: str = DENY_OVERRIDES) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<xacml:Policy xmlns:xacml="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" '
        f'PolicyId="p" RuleCombiningAlgId="{algorithm}"><xacml:Target/>' + "".join(rules) + extra + "</xacml:Policy>"
    ).encode()


def user(*roles: str, level: int = 3) -> Subject:
    return Subject(org=None, role_codes=frozenset(roles), auth_level=level)


def service_owner(code: str, level: int = 3) -> Subject:
    return Subject(org=code, role_codes=frozenset(), auth_level=level)


def in_task(task: str, app: str = "skjema") -> ResourceState:
    return ResourceState(org="ttd", app=app, task=task, end_event=None)


def ended(end_event: str) -> ResourceState:
    return ResourceState(org="ttd", app="skjema", task=None, end_event=end_event)


NOT_STARTED = ResourceState(org="ttd", app="skjema", task=None, end_event=None)

DAGL_READS = policy(rule(any_of(role("DAGL")), any_of(THIS_APP), any_of(action("read"))))
DAGL_OR_REGNA_READS = policy(rule(any_of(role("DAGL"), role("REGNA")), any_of(THIS_APP), any_of(action("read"))))
DAGL_AND_REGNA_READ = policy(rule(any_of(role("DAGL") + role("REGNA")), any_of(THIS_APP), any_of(action("read"))))
EXACT_CASE_ROLE = policy(rule(any_of(role("dagl", EQUAL)), any_of(THIS_APP), any_of(action("read"))))
TTD_WRITES = policy(rule(any_of(org("ttd")), any_of(THIS_APP), any_of(action("write"))))
READ_IN_TASK_1 = policy(
    rule(
        any_of(role("DAGL")),
        any_of(THIS_APP + resource("task", "Task_1")),
        any_of(action("read")),
    )
)
READ_AFTER_END_EVENT_1 = policy(
    rule(
        any_of(role("DAGL")),
        any_of(THIS_APP + resource("end-event", "EndEvent_1")),
        any_of(action("read")),
    )
)
READ_EXCEPT_IN_TASK_2 = [
    rule(any_of(role("DAGL")), any_of(THIS_APP), any_of(action("read"))),
    rule(any_of(role("DAGL")), any_of(resource("task", "Task_2")), effect="Deny"),
]
DENY_IN_TASK_2 = policy(*READ_EXCEPT_IN_TASK_2)
DENY_FIRST = policy(*reversed(READ_EXCEPT_IN_TASK_2))
PERMIT_OVERRIDES_TASK_2 = policy(*READ_EXCEPT_IN_TASK_2, algorithm=PERMIT_OVERRIDES)
DENY_EVERYWHERE = policy(READ_EXCEPT_IN_TASK_2[0], rule(any_of(role("DAGL")), effect="Deny"))
USER_LEVEL_3 = policy(
    rule(any_of(role("DAGL"), org("ttd")), any_of(THIS_APP), any_of(action("read"))),
    extra=obligations((MIN_LEVEL, "3")),
)
USER_3_ORG_2 = policy(
    rule(any_of(role("DAGL"), org("ttd")), any_of(THIS_APP), any_of(action("read"))),
    extra=obligations((MIN_LEVEL, "3"), (MIN_LEVEL_ORG, "2")),
)
ORG_LEVEL_ONLY = policy(
    rule(any_of(role("DAGL"), org("ttd")), any_of(THIS_APP), any_of(action("read"))),
    extra=obligations((MIN_LEVEL_ORG, "3")),
)
DENY_OBLIGATION_IGNORED = policy(
    rule(any_of(role("DAGL")), any_of(THIS_APP), any_of(action("read"))),
    extra=obligations((MIN_LEVEL, "4"), fulfill_on="Deny"),
)
RULE_LEVEL_4 = policy(
    rule(any_of(role("DAGL")), any_of(THIS_APP), any_of(action("read"))),
    rule(
        any_of(role("DAGL")),
        any_of(THIS_APP),
        any_of(action("delete")),
        extra=obligations((MIN_LEVEL, "4")),
    ),
    extra=obligations((MIN_LEVEL, "2")),
)
ANY_ACTION = policy(rule(any_of(role("DAGL")), any_of(THIS_APP)))
EMPTY_TARGET = policy(rule())
SYSTEM_USER_ONLY = policy(
    rule(
        any_of(match("urn:altinn:systemuser:uuid", SUBJECT, "f58fe166", EQUAL_IGNORE_CASE)),
        any_of(THIS_APP),
        any_of(action("read")),
    )
)
ACTION_IGNORE_CASE = policy(rule(any_of(role("DAGL")), any_of(THIS_APP), any_of(action("read", EQUAL_IGNORE_CASE))))
# tdd/test-applikasjon-1 puts the action Match inside the resource AllOf.
ACTION_IN_RESOURCE_ALL_OF = policy(
    rule(any_of(role("DAGL")), any_of(THIS_APP + action("delete"))),
)
POLICY_TARGET = policy(rule(any_of(role("DAGL")), any_of(action("read")))).replace(
    b"<xacml:Target/>", f"<xacml:Target>{any_of(THIS_APP)}</xacml:Target>".encode()
)

DECISIONS = [
    ("single rule permits", DAGL_READS, user("DAGL"), in_task("Task_1"), "read", True),
    ("unknown action", DAGL_READS, user("DAGL"), in_task("Task_1"), "write", False),
    ("other app", DAGL_READS, user("DAGL"), in_task("Task_1", app="other"), "read", False),
    ("role not held", DAGL_READS, user("PRIV"), in_task("Task_1"), "read", False),
    ("anyof first", DAGL_OR_REGNA_READS, user("DAGL"), in_task("Task_1"), "read", True),
    ("anyof second", DAGL_OR_REGNA_READS, user("REGNA"), in_task("Task_1"), "read", True),
    ("anyof none", DAGL_OR_REGNA_READS, user("PRIV"), in_task("Task_1"), "read", False),
    ("allof all", DAGL_AND_REGNA_READ, user("DAGL", "REGNA"), in_task("Task_1"), "read", True),
    ("allof one missing", DAGL_AND_REGNA_READ, user("DAGL"), in_task("Task_1"), "read", False),
    ("role lower in token", DAGL_READS, user("dagl"), in_task("Task_1"), "read", True),
    ("role case under exact", EXACT_CASE_ROLE, user("DAGL"), in_task("Task_1"), "read", True),
    ("org subject", TTD_WRITES, service_owner("ttd"), ended("EndEvent_1"), "write", True),
    ("org upper case", TTD_WRITES, service_owner("TTD"), in_task("Task_1"), "write", True),
    ("other org", TTD_WRITES, service_owner("digdir"), in_task("Task_1"), "write", False),
    ("user is not org", TTD_WRITES, user("DAGL"), in_task("Task_1"), "write", False),
    ("task matches", READ_IN_TASK_1, user("DAGL"), in_task("Task_1"), "read", True),
    ("other task", READ_IN_TASK_1, user("DAGL"), in_task("Task_2"), "read", False),
    ("task case", READ_IN_TASK_1, user("DAGL"), in_task("task_1"), "read", False),
    ("task rule ended", READ_IN_TASK_1, user("DAGL"), ended("EndEvent_1"), "read", False),
    ("task rule not started", READ_IN_TASK_1, user("DAGL"), NOT_STARTED, "read", False),
    ("end event", READ_AFTER_END_EVENT_1, user("DAGL"), ended("EndEvent_1"), "read", True),
    ("other end", READ_AFTER_END_EVENT_1, user("DAGL"), ended("EndEvent_2"), "read", False),
    ("end rule in task", READ_AFTER_END_EVENT_1, user("DAGL"), in_task("Task_1"), "read", False),
    (
        "task wins over end event",
        READ_AFTER_END_EVENT_1,
        user("DAGL"),
        ResourceState(org="ttd", app="skjema", task="Task_1", end_event="EndEvent_1"),
        "read",
        False,
    ),
    ("no state condition, task", DAGL_READS, user("DAGL"), in_task("Task_9"), "read", True),
    ("no state condition, ended", DAGL_READS, user("DAGL"), ended("Done"), "read", True),
    ("no state condition, not started", DAGL_READS, user("DAGL"), NOT_STARTED, "read", True),
    ("deny elsewhere", DENY_IN_TASK_2, user("DAGL"), in_task("Task_1"), "read", True),
    ("deny overrides", DENY_IN_TASK_2, user("DAGL"), in_task("Task_2"), "read", False),
    ("deny first overrides", DENY_FIRST, user("DAGL"), in_task("Task_2"), "read", False),
    ("deny for others only", DENY_IN_TASK_2, user("REGNA"), in_task("Task_2"), "read", False),
    ("permit overrides", PERMIT_OVERRIDES_TASK_2, user("DAGL"), in_task("Task_2"), "read", True),
    ("deny everywhere", DENY_EVERYWHERE, user("DAGL"), ended("EndEvent_1"), "read", False),
    ("user below level", USER_LEVEL_3, user("DAGL", level=2), in_task("Task_1"), "read", False),
    ("user at level", USER_LEVEL_3, user("DAGL", level=3), in_task("Task_1"), "read", True),
    ("user above level", USER_LEVEL_3, user("DAGL", level=4), in_task("Task_1"), "read", True),
    ("org below user level", USER_LEVEL_3, service_owner("ttd", 2), in_task("Task_1"), "read", False),
    ("org at user level", USER_LEVEL_3, service_owner("ttd", 3), in_task("Task_1"), "read", True),
    ("org at org level", USER_3_ORG_2, service_owner("ttd", 2), in_task("Task_1"), "read", True),
    ("org below org level", USER_3_ORG_2, service_owner("ttd", 1), in_task("Task_1"), "read", False),
    ("user not helped by org level", USER_3_ORG_2, user("DAGL", level=2), NOT_STARTED, "read", False),
    ("org level only, org below", ORG_LEVEL_ONLY, service_owner("ttd", 2), NOT_STARTED, "read", False),
    ("org level only, org at", ORG_LEVEL_ONLY, service_owner("ttd", 3), NOT_STARTED, "read", True),
    ("org level only, user", ORG_LEVEL_ONLY, user("DAGL", level=0), NOT_STARTED, "read", True),
    ("deny obligation ignored", DENY_OBLIGATION_IGNORED, user("DAGL", level=0), NOT_STARTED, "read", True),
    ("rule level, other rule", RULE_LEVEL_4, user("DAGL", level=3), NOT_STARTED, "read", True),
    ("rule level below", RULE_LEVEL_4, user("DAGL", level=3), NOT_STARTED, "delete", False),
    ("rule level at", RULE_LEVEL_4, user("DAGL", level=4), NOT_STARTED, "delete", True),
    ("no action anyof", ANY_ACTION, user("DAGL"), in_task("Task_1"), "sign", True),
    ("empty target", EMPTY_TARGET, user(), NOT_STARTED, "delete", True),
    ("unsupported attribute", SYSTEM_USER_ONLY, user("DAGL"), in_task("Task_1"), "read", False),
    ("action case exact", DAGL_READS, user("DAGL"), in_task("Task_1"), "Read", False),
    ("action ignore case", ACTION_IGNORE_CASE, user("DAGL"), in_task("Task_1"), "READ", True),
    ("action in resource allof", ACTION_IN_RESOURCE_ALL_OF, user("DAGL"), NOT_STARTED, "delete", True),
    ("action in resource allof, other", ACTION_IN_RESOURCE_ALL_OF, user("DAGL"), NOT_STARTED, "read", False),
    ("policy target applies", POLICY_TARGET, user("DAGL"), NOT_STARTED, "read", True),
    ("policy target excludes", POLICY_TARGET, user("DAGL"), in_task("T", app="other"), "read", False),
]


@pytest.mark.parametrize(
    ("document", "subject", "state", "action_id", "expected"),
    [case[1:] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_decision(document, subject, state, action_id, expected):
    parsed = parse_policy(document, source="test")
    assert is_permitted(parsed, subject, state, action_id) is expected
    pushed_down = permitted_states(parsed, subject, state.org, state.app, action_id)
    assert pushed_down.allows(state.task, state.end_event) is expected


STATES = [
    ("task condition", READ_IN_TASK_1, user("DAGL"), PermittedStates(False, tasks=frozenset({"Task_1"}))),
    (
        "end event condition",
        READ_AFTER_END_EVENT_1,
        user("DAGL"),
        PermittedStates(False, end_events=frozenset({"EndEvent_1"})),
    ),
    ("any state", DAGL_READS, user("DAGL"), PermittedStates(True)),
    ("nothing", DAGL_READS, user("PRIV"), PermittedStates(False)),
    ("deny removes a task", DENY_IN_TASK_2, user("DAGL"), PermittedStates(True, except_tasks=frozenset({"Task_2"}))),
    ("deny everywhere empties", DENY_EVERYWHERE, user("DAGL"), PermittedStates(False)),
    ("auth level not met", USER_LEVEL_3, user("DAGL", level=1), PermittedStates(False)),
]


@pytest.mark.parametrize(("document", "subject", "expected"), [c[1:] for c in STATES], ids=[c[0] for c in STATES])
def test_permitted_states(document, subject, expected):
    parsed = parse_policy(document, source="test")
    assert permitted_states(parsed, subject, "ttd", "skjema", "read") == expected


def test_permitted_states_flags():
    assert PermittedStates(False).is_empty
    assert not PermittedStates(False, tasks=frozenset({"Task_1"})).is_empty
    assert PermittedStates(True).is_unrestricted
    assert not PermittedStates(True, except_tasks=frozenset({"Task_2"})).is_unrestricted


# --- malformed and hostile documents --------------------------------------------------------

ONE_RULE = rule(any_of(role("DAGL")), any_of(THIS_APP), any_of(action("read")))
MALFORMED = [
    ("not xml", b"this is not xml", "well-formed"),
    ("empty document", b"", "well-formed"),
    ("wrong root", b'<PolicySet xmlns="urn:x"/>', "expected <Policy>"),
    ("missing algorithm", policy(ONE_RULE).replace(b'RuleCombiningAlgId="', b'Other="'), "RuleCombiningAlgId"),
    (
        "first-applicable",
        policy(ONE_RULE, algorithm="urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable"),
        "first-applicable",
    ),
    ("rule without effect", policy(ONE_RULE.replace(' Effect="Permit"', "")), "Effect"),
    ("unknown effect", policy(ONE_RULE.replace('Effect="Permit"', 'Effect="Allow"')), "'Allow'"),
    ("lower-case effect", policy(ONE_RULE.replace('Effect="Permit"', 'Effect="permit"')), "'permit'"),
    (
        "match without value",
        policy(rule(any_of(role("DAGL").replace("xacml:AttributeValue", "xacml:Description")))),
        "exactly one AttributeValue",
    ),
    (
        "match without designator",
        policy(rule(any_of(role("DAGL").split("<xacml:AttributeDesignator")[0] + "</xacml:Match>"))),
        "exactly one AttributeValue and one AttributeDesignator",
    ),
    (
        "designator without attribute id",
        policy(rule(any_of(role("DAGL").replace('AttributeId="urn:altinn:rolecode" ', "")))),
        "AttributeId",
    ),
    ("empty value", policy(rule(any_of(role(" ")))), "empty AttributeValue"),
    ("unsupported match function", policy(rule(any_of(role("DAGL", "urn:x:regexp-match")))), "MatchId"),
    ("empty anyof", policy(rule("<xacml:AnyOf/>")), "empty <AnyOf>"),
    ("stray element in target", policy(rule("<xacml:Subjects/>")), "<Subjects>"),
    ("condition", policy(rule(extra="<xacml:Condition/>")), "conditions are not supported"),
    ("auth level not a number", policy(ONE_RULE, extra=obligations((MIN_LEVEL, "two"))), "'two'"),
    ("auth level empty", policy(ONE_RULE, extra=obligations((MIN_LEVEL_ORG, ""))), "''"),
    ("auth level fraction", policy(ONE_RULE, extra=obligations((MIN_LEVEL, "2.5"))), "'2.5'"),
    ("auth level negative", policy(ONE_RULE, extra=obligations((MIN_LEVEL, "-1"))), "'-1'"),
    (
        "obligation without FulfillOn",
        policy(ONE_RULE, extra=obligations((MIN_LEVEL, "2")).replace(' FulfillOn="Permit"', "")),
        "FulfillOn",
    ),
    ("billion laughs", (FIXTURES / "billion-laughs.xml").read_bytes(), "not a safe"),
    ("external entity", (FIXTURES / "external-entity.xml").read_bytes(), "not a safe"),
]


@pytest.mark.parametrize(("document", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_policy_raises(document, message):
    with pytest.raises(PolicyError) as raised:
        parse_policy(document, source="ttd/broken/policy.xml")
    assert str(raised.value).startswith("ttd/broken/policy.xml: ")
    assert message in str(raised.value)


# --- namespace spellings ----------------------------------------------------------------------

XACML_NAMESPACE = b"urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
BASE = policy(READ_EXCEPT_IN_TASK_2[0], extra=obligations((MIN_LEVEL, "2")))


def respelled(prefix: bytes, declaration: bytes) -> bytes:
    """BASE with every element written as <{prefix}Name> and the namespace declared as given."""
    return (
        BASE.replace(b"<xacml:", b"<" + prefix)
        .replace(b"</xacml:", b"</" + prefix)
        .replace(b'xmlns:xacml="' + XACML_NAMESPACE + b'"', declaration)
    )


SPELLINGS = {
    "xacml prefix": BASE,
    "ns0 prefix": respelled(b"ns0:", b'xmlns:ns0="' + XACML_NAMESPACE + b'"'),
    "default namespace": respelled(b"", b'xmlns="' + XACML_NAMESPACE + b'"'),
    "no namespace": respelled(b"", b""),
    "other namespace": respelled(b"", b'xmlns="urn:example:not-xacml"'),
    # ttd/sensitive-data starts with a UTF-8 BOM; most real files also bind xsl to XMLSchema-instance.
    "bom and stray xsl binding": b"\xef\xbb\xbf"
    + respelled(
        b"xacml:",
        b'xmlns:xsl="http://www.w3.org/2001/XMLSchema-instance" xmlns:xacml="' + XACML_NAMESPACE + b'"',
    ),
}


@pytest.mark.parametrize("document", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_namespace_spelling_does_not_matter(document):
    parsed = parse_policy(document, source="variant")
    assert parsed.rules == parse_policy(BASE, source="base").rules
    assert is_permitted(parsed, user("DAGL", level=2), in_task("Task_1"), "read")
    assert not is_permitted(parsed, user("DAGL", level=1), in_task("Task_1"), "read")


# --- permitted_states agrees with is_permitted for generated policies -----------------------

TASKS = ("Task_1", "Task_2", "Task_9")
END_EVENTS = ("EndEvent_1", "Success", "EndEvent_9")
SUBJECT_MATCHES = [role("DAGL"), role("dagl", EQUAL), role("PRIV"), org("ttd"), org("DIGDIR")]
RESOURCE_MATCHES = [
    resource("org", "ttd"),
    resource("org", "TTD"),
    resource("app", "skjema"),
    resource("task", "Task_1"),
    resource("task", "Task_2"),
    resource("task", "task_1", EQUAL_IGNORE_CASE),
    resource("end-event", "EndEvent_1"),
    resource("end-event", "Success"),
]
STATE_MATCHES = RESOURCE_MATCHES[3:]
ACTION_MATCHES = [action("read"), action("Read", EQUAL_IGNORE_CASE), action("write")]
UNSUPPORTED_MATCHES = [match("urn:altinn:userid", SUBJECT, "1337"), resource("partyid", "500")]


def any_ofs_from(choices: list[str], max_matches: int) -> st.SearchStrategy[str]:
    all_ofs = st.lists(st.sampled_from(choices), min_size=1, max_size=max_matches).map("".join)
    return st.lists(all_ofs, min_size=1, max_size=3).map(lambda groups: any_of(*groups))


# Mostly shaped like Altinn Studio's rules (one AnyOf per category), sometimes mixed like
# tdd/test-applikasjon-1, sometimes with attributes this gateway cannot supply.
any_ofs = st.one_of(
    any_ofs_from(SUBJECT_MATCHES, 1),
    any_ofs_from(RESOURCE_MATCHES, 3),
    any_ofs_from(STATE_MATCHES, 1),
    any_ofs_from(STATE_MATCHES, 1),
    any_ofs_from(ACTION_MATCHES, 1),
    any_ofs_from(RESOURCE_MATCHES + ACTION_MATCHES + UNSUPPORTED_MATCHES, 3),
)
levels = st.sampled_from(["", obligations((MIN_LEVEL, "3")), obligations((MIN_LEVEL_ORG, "3"))])
rules = st.one_of(
    st.builds(
        lambda targets, effect, extra: rule(*targets, effect=effect, extra=extra),
        st.lists(any_ofs, max_size=3),
        st.sampled_from(["Permit", "Permit", "Deny"]),
        levels,
    ),
    # A Deny limited to some states, the case that carves exceptions out of "any state".
    st.builds(
        lambda subjects, states: rule(subjects, states, effect="Deny"),
        any_ofs_from(SUBJECT_MATCHES, 1),
        any_ofs_from(STATE_MATCHES, 1),
    ),
)
policies = st.builds(
    lambda body, extra, algorithm: policy(*body, extra=extra, algorithm=algorithm),
    st.lists(rules, min_size=1, max_size=5),
    levels,
    st.sampled_from([DENY_OVERRIDES, PERMIT_OVERRIDES]),
)
subjects = st.builds(
    Subject,
    org=st.sampled_from([None, "ttd", "digdir"]),
    role_codes=st.frozensets(st.sampled_from(["DAGL", "priv", "REGNA"]), min_size=1),
    auth_level=st.integers(min_value=0, max_value=4),
)


@settings(max_examples=400, deadline=None)
@given(
    document=policies,
    subject=subjects,
    app=st.sampled_from(["skjema", "other"]),
    action_id=st.sampled_from(["read", "READ", "write", "delete"]),
)
def test_permitted_states_agree_with_is_permitted(document, subject, app, action_id):
    parsed = parse_policy(document, source="generated")
    pushed_down = permitted_states(parsed, subject, "ttd", app, action_id)
    for task in (None, *TASKS):
        for end_event in (None, *END_EVENTS):
            state = ResourceState(org="ttd", app=app, task=task, end_event=end_event)
            assert pushed_down.allows(task, end_event) == is_permitted(parsed, subject, state, action_id), (
                task,
                end_event,
            )
