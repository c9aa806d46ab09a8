"""An Altinn app's XACML 3.0 policy: parsed once, then evaluated without touching XML.

Semantics follow Altinn's PDP (Altinn.Authorization.ABAC) and PEP (Altinn.Common.PEP), with
the deviations noted where they happen. Every deviation fails closed: a policy this module
cannot fully understand raises PolicyError instead of deciding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

SUBJECT_CATEGORY = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
MIN_AUTH_LEVEL = "urn:altinn:minimum-authenticationlevel"
MIN_AUTH_LEVEL_ORG = "urn:altinn:minimum-authenticationlevel-org"

_STRING_EQUAL = "urn:oasis:names:tc:xacml:1.0:function:string-equal"
_STRING_EQUAL_IGNORE_CASE = "urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case"
_ALGORITHMS = [f"urn:oasis:names:tc:xacml:{v}:rule-combining-algorithm:" for v in ("1.0", "1.1", "3.0")]
_DENY_OVERRIDES = {a + n for a in _ALGORITHMS for n in ("deny-overrides", "ordered-deny-overrides")}
_PERMIT_OVERRIDES = {a + n for a in _ALGORITHMS for n in ("permit-overrides", "ordered-permit-overrides")}
# Elements that cannot change a decision: free text, advice (never binding), XPath defaults,
# and parameters that deny-/permit-overrides take no notice of.
_IGNORED_ELEMENTS = {
    "Description",
    "AdviceExpressions",
    "PolicyDefaults",
    "PolicyIssuer",
    "CombinerParameters",
    "RuleCombinerParameters",
}


class PolicyError(Exception):
    """A policy (or app metadata) that cannot be trusted to decide anything."""


class Attribute(enum.Enum):
    """The request attributes a Match can test. Altinn also knows subject urn:altinn:userid,
    urn:altinn:partyid, urn:altinn:systemuser:uuid (ttd/signing-app uses it) and resource
    urn:altinn:partyid / urn:altinn:resource; this gateway's callers carry none of them, so such
    a Match is UNSUPPORTED and never holds, as in Altinn when the request lacks the attribute."""

    SUBJECT_ORG = "subject urn:altinn:org"
    ROLE_CODE = "subject urn:altinn:rolecode"
    RESOURCE_ORG = "resource urn:altinn:org"
    RESOURCE_APP = "resource urn:altinn:app"
    TASK = "resource urn:altinn:task"
    END_EVENT = "resource urn:altinn:end-event"
    ACTION = "action action-id"
    UNSUPPORTED = "unsupported"


_ATTRIBUTES = {
    (SUBJECT_CATEGORY, "urn:altinn:org"): Attribute.SUBJECT_ORG,
    (SUBJECT_CATEGORY, "urn:altinn:rolecode"): Attribute.ROLE_CODE,
    (RESOURCE_CATEGORY, "urn:altinn:org"): Attribute.RESOURCE_ORG,
    (RESOURCE_CATEGORY, "urn:altinn:app"): Attribute.RESOURCE_APP,
    (RESOURCE_CATEGORY, "urn:altinn:task"): Attribute.TASK,
    (RESOURCE_CATEGORY, "urn:altinn:end-event"): Attribute.END_EVENT,
    (ACTION_CATEGORY, ACTION_ID): Attribute.ACTION,
}
# Org codes and role codes are case-insensitive in Altinn whatever the MatchId says (user 1 in
# Altinn's own role test data holds "dagl"; policies write "DAGL" or "dagl").
_ALWAYS_IGNORE_CASE = {Attribute.SUBJECT_ORG, Attribute.ROLE_CODE, Attribute.RESOURCE_ORG}
# Process element ids are compared exactly, even under string-equal-ignore-case, so that
# permitted_states can become exact database filters. No real policy asks otherwise.
_STATE_ATTRIBUTES = {Attribute.TASK, Attribute.END_EVENT}


@dataclass(frozen=True)
class Subject:
    """Who asks.

    org: the service owner code from the token (urn:altinn:org), None for end users.
    role_codes: roles the user holds for the instance owner party (PRIV included for their own).
    auth_level: the token's urn:altinn:authlevel.
    """

    org: str | None
    role_codes: frozenset[str]
    auth_level: int


@dataclass(frozen=True)
class ResourceState:
    """Where the instance is. With both set, the task wins, as in Altinn's context handler."""

    org: str
    app: str
    task: str | None
    end_event: str | None


@dataclass(frozen=True)
class Match:
    attribute: Attribute
    value: str  # case-folded when ignore_case
    ignore_case: bool


AllOf = tuple[Match, ...]
AnyOf = tuple[AllOf, ...]


@dataclass(frozen=True)
class AuthLevelRequirement:
    """Minimum authentication levels from `FulfillOn="Permit"` obligations."""

    user: int | None = None
    org: int | None = None

    def is_met_by(self, subject: Subject) -> bool:
        # Altinn's PEP: everyone must reach the user minimum, except that a service owner below
        # it still passes by reaching the org minimum. Deviation: an org minimum without a user
        # minimum binds service owners (Altinn's PEP would ignore it).
        if not subject.org:
            return self.user is None or subject.auth_level >= self.user
        levels = [level for level in (self.user, self.org) if level is not None]
        return not levels or subject.auth_level >= min(levels)

    def strictest(self, other: AuthLevelRequirement) -> AuthLevelRequirement:
        return AuthLevelRequirement(_max(self.user, other.user), _max(self.org, other.org))


@dataclass(frozen=True)
class Rule:
    rule_id: str
    is_permit: bool
    target: tuple[AnyOf, ...]  # every AnyOf must hold; empty = applies to every request
    auth_level: AuthLevelRequirement  # policy-level obligations plus the rule's own


@dataclass(frozen=True)
class Policy:
    source: str
    policy_id: str | None
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class PermittedStates:
    """The process states in which an action is permitted, for a database filter.

    any_state: permitted in every state (not started included) except a current task in
    `except_tasks` or an end event in `except_end_events`. Otherwise permitted only with a
    current task in `tasks`, or with no current task and an end event in `end_events`.
    """

    any_state: bool
    tasks: frozenset[str] = frozenset()
    end_events: frozenset[str] = frozenset()
    except_tasks: frozenset[str] = frozenset()
    except_end_events: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (self.any_state or self.tasks or self.end_events)

    @property
    def is_unrestricted(self) -> bool:
        return self.any_state and not (self.except_tasks or self.except_end_events)

    def allows(self, task: str | None, end_event: str | None) -> bool:
        if task:
            return task not in self.except_tasks if self.any_state else task in self.tasks
        if end_event:
            if self.any_state:
                return end_event not in self.except_end_events
            return end_event in self.end_events
        return self.any_state


def parse_policy(xml: bytes, *, source: str) -> Policy:
    """Parse one XACML 3.0 policy document.

    `source` names the document in error messages. Element names match on their local part,
    so any namespace prefix (or none) works. Raises PolicyError for unsafe XML (DTDs,
    entities), malformed XML, and any policy content this module cannot evaluate faithfully.
    """
    try:
        root = safe_xml.fromstring(xml, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        raise PolicyError(f"{source}: not a safe, well-formed XML document ({error})") from None
    if _local(root) != "Policy":
        raise PolicyError(f"{source}: root element is <{_local(root)}>, expected <Policy>")
    deny_overrides = _is_deny_overrides(root.get("RuleCombiningAlgId"), source)
    target: tuple[AnyOf, ...] = ()
    auth_level = AuthLevelRequirement()
    rule_elements: list[Element] = []
    for child in root:
        name = _local(child)
        if name == "Target":
            target = _parse_target(child, f"{source}: policy target")
        elif name == "ObligationExpressions":
            auth_level = _parse_obligations(child, f"{source}: policy obligations")
        elif name == "Rule":
            rule_elements.append(child)
        elif name not in _IGNORED_ELEMENTS:
            raise PolicyError(f"{source}: unsupported element <{name}> in <Policy>")
    rules = tuple(
        _parse_rule(element, index, target, auth_level, source) for index, element in enumerate(rule_elements, start=1)
    )
    if not deny_overrides:
        # Under permit-overrides a Deny can never change whether a permit counts.
        rules = tuple(rule for rule in rules if rule.is_permit)
    return Policy(source=source, policy_id=root.get("PolicyId"), rules=rules)


def is_permitted(policy: Policy, subject: Subject, resource: ResourceState, action: str) -> bool:
    """Decide like Altinn's PDP and PEP together.

    True when no applicable Deny rule exists (deny-overrides) and an applicable Permit rule's
    authentication-level obligations are met by `subject.auth_level`. `resource` gives the
    instance's app and process state: a rule naming a task applies only while that task is
    current, one naming an end event only once the process ended there, one naming neither in
    every state (not started included). `action` is matched as the policy's MatchId says
    (read, write, delete, instantiate, complete, confirm, sign, ...).
    """
    task = resource.task or None
    end_event = None if task else (resource.end_event or None)
    facts = _Facts.of(subject, resource.org, resource.app, action, task, end_event)
    permitted = False
    for rule in policy.rules:
        if not _target_holds(rule.target, facts):
            continue
        if not rule.is_permit:
            return False  # deny-overrides
        permitted = permitted or rule.auth_level.is_met_by(subject)
    return permitted


def permitted_states(policy: Policy, subject: Subject, org: str, app: str, action: str) -> PermittedStates:
    """The process states of `org`/`app` instances in which is_permitted would return True.

    For pushing an authorization check (typically `read`) into a database query: the result
    agrees with is_permitted(policy, subject, ResourceState(org, app, task, end_event), action)
    for every task and end event, deny-overrides and authentication levels included.
    """
    facts = _Facts.of(subject, org, app, action, task=None, end_event=None)
    permits: _StateSet = frozenset()
    denies: _StateSet = frozenset()
    for rule in policy.rules:
        if rule.is_permit and not rule.auth_level.is_met_by(subject):
            continue
        states = _rule_states(rule, facts)
        if rule.is_permit:
            permits = _union(permits, states)
        else:
            denies = _union(denies, states)
    if denies is _EVERY_STATE:
        return PermittedStates(any_state=False)
    if permits is _EVERY_STATE:
        return PermittedStates(
            any_state=True,
            except_tasks=_values(denies, Attribute.TASK),
            except_end_events=_values(denies, Attribute.END_EVENT),
        )
    allowed = permits - denies
    return PermittedStates(
        any_state=False,
        tasks=_values(allowed, Attribute.TASK),
        end_events=_values(allowed, Attribute.END_EVENT),
    )


# --- evaluation -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """The request's attribute values, case-folded once where a Match may ignore case."""

    roles: frozenset[str]
    exact: dict[Attribute, str | None]
    folded: dict[Attribute, str | None]

    @classmethod
    def of(
        cls,
        subject: Subject,
        org: str,
        app: str,
        action: str,
        task: str | None,
        end_event: str | None,
    ) -> _Facts:
        exact = {
            Attribute.SUBJECT_ORG: subject.org or None,
            Attribute.RESOURCE_ORG: org,
            Attribute.RESOURCE_APP: app,
            Attribute.ACTION: action,
            Attribute.TASK: task,
            Attribute.END_EVENT: end_event,
        }
        folded = {key: value.casefold() if value else value for key, value in exact.items()}
        roles = frozenset(role.casefold() for role in subject.role_codes)
        return cls(roles=roles, exact=exact, folded=folded)


def _holds(match: Match, facts: _Facts) -> bool:
    if match.attribute is Attribute.ROLE_CODE:
        return match.value in facts.roles
    values = facts.folded if match.ignore_case else facts.exact
    return values.get(match.attribute) == match.value


def _target_holds(target: tuple[AnyOf, ...], facts: _Facts) -> bool:
    # Plain loops: this is the hot path, and nested generators cost several times more here.
    for any_of in target:
        for all_of in any_of:
            for match in all_of:
                if not _holds(match, facts):
                    break
            else:
                break  # this AllOf holds, so the AnyOf does
        else:
            return False  # no AllOf held
    return True


# A set of process states: _EVERY_STATE, or a finite set of (TASK | END_EVENT, element id).
# States are exclusive (a task, or an end event, or neither), so two different atoms never
# intersect, and "not started" belongs only to _EVERY_STATE.
_StateSet = frozenset[tuple[Attribute, str]] | None
_EVERY_STATE: _StateSet = None


def _rule_states(rule: Rule, facts: _Facts) -> _StateSet:
    states = _EVERY_STATE
    for any_of in rule.target:
        alternatives: _StateSet = frozenset()
        for all_of in any_of:
            alternatives = _union(alternatives, _all_of_states(all_of, facts))
        states = _intersection(states, alternatives)
    return states


def _all_of_states(all_of: AllOf, facts: _Facts) -> _StateSet:
    states = _EVERY_STATE
    for match in all_of:
        if match.attribute in _STATE_ATTRIBUTES:
            states = _intersection(states, frozenset({(match.attribute, match.value)}))
        elif not _holds(match, facts):
            return frozenset()
    return states


def _union(left: _StateSet, right: _StateSet) -> _StateSet:
    return _EVERY_STATE if left is None or right is None else left | right


def _intersection(left: _StateSet, right: _StateSet) -> _StateSet:
    if left is None:
        return right
    return left if right is None else left & right


def _values(states: frozenset[tuple[Attribute, str]], attribute: Attribute) -> frozenset[str]:
    return frozenset(value for kind, value in states if kind is attribute)


def _max(left: int | None, right: int | None) -> int | None:
    return right if left is None else left if right is None else max(left, right)


# --- parsing ----------------------------------------------------------------------------


def _local(element: Element) -> str:
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


def _is_deny_overrides(algorithm: str | None, source: str) -> bool:
    if algorithm in _DENY_OVERRIDES:
        return True
    if algorithm in _PERMIT_OVERRIDES:
        return False
    raise PolicyError(f"{source}: unsupported RuleCombiningAlgId {algorithm!r}")


def _parse_rule(
    element: Element,
    index: int,
    policy_target: tuple[AnyOf, ...],
    policy_auth_level: AuthLevelRequirement,
    source: str,
) -> Rule:
    rule_id = element.get("RuleId") or f"#{index}"
    where = f"{source}: rule {rule_id}"
    effect = element.get("Effect")
    if effect not in ("Permit", "Deny"):
        raise PolicyError(f"{where}: Effect must be Permit or Deny, not {effect!r}")
    target: tuple[AnyOf, ...] = ()
    auth_level = policy_auth_level
    for child in element:
        name = _local(child)
        if name == "Target":
            target = _parse_target(child, where)
        elif name == "ObligationExpressions":
            auth_level = auth_level.strictest(_parse_obligations(child, where))
        elif name == "Condition":
            raise PolicyError(f"{where}: rule conditions are not supported")
        elif name not in _IGNORED_ELEMENTS:
            raise PolicyError(f"{where}: unsupported element <{name}> in <Rule>")
    # The policy's own target narrows every rule, so it is simply one more conjunct.
    return Rule(rule_id, effect == "Permit", policy_target + target, auth_level)


def _parse_target(element: Element, where: str) -> tuple[AnyOf, ...]:
    return tuple(
        tuple(
            tuple(_parse_match(match, where) for match in _children(all_of, "Match", where))
            for all_of in _children(any_of, "AllOf", where)
        )
        for any_of in _children(element, "AnyOf", where, allow_empty=True)
    )


def _children(element: Element, name: str, where: str, allow_empty: bool = False) -> list[Element]:
    children = list(element)
    if not children and not allow_empty:
        raise PolicyError(f"{where}: empty <{_local(element)}>")
    for child in children:
        if _local(child) != name:
            raise PolicyError(f"{where}: <{_local(child)}> where <{name}> was expected")
    return children


def _parse_match(element: Element, where: str) -> Match:
    match_id = element.get("MatchId")
    if match_id not in (_STRING_EQUAL, _STRING_EQUAL_IGNORE_CASE):
        raise PolicyError(f"{where}: unsupported MatchId {match_id!r}")
    values = [child for child in element if _local(child) == "AttributeValue"]
    designators = [child for child in element if _local(child) == "AttributeDesignator"]
    if len(values) != 1 or len(designators) != 1 or len(element) != 2:
        raise PolicyError(f"{where}: a Match needs exactly one AttributeValue and one AttributeDesignator")
    category, attribute_id = designators[0].get("Category"), designators[0].get("AttributeId")
    if not category or not attribute_id:
        raise PolicyError(f"{where}: AttributeDesignator without Category or AttributeId")
    value = (values[0].text or "").strip()
    if not value:
        raise PolicyError(f"{where}: empty AttributeValue for {attribute_id}")
    attribute = _ATTRIBUTES.get((category, attribute_id), Attribute.UNSUPPORTED)
    ignore_case = attribute in _ALWAYS_IGNORE_CASE or (
        match_id == _STRING_EQUAL_IGNORE_CASE and attribute not in _STATE_ATTRIBUTES
    )
    return Match(attribute, value.casefold() if ignore_case else value, ignore_case)


def _parse_obligations(element: Element, where: str) -> AuthLevelRequirement:
    # Altinn recognises an authentication-level obligation by the Category of its
    # AttributeAssignmentExpression (the AttributeId is an arbitrary label). Obligations for a
    # Deny, and of other categories, never restrict a permit.
    requirement = AuthLevelRequirement()
    for obligation in _children(element, "ObligationExpression", where, allow_empty=True):
        fulfill_on = obligation.get("FulfillOn")
        if fulfill_on not in ("Permit", "Deny"):
            raise PolicyError(f"{where}: FulfillOn must be Permit or Deny, not {fulfill_on!r}")
        for assignment in obligation:
            category = assignment.get("Category")
            if fulfill_on == "Deny" or category not in (MIN_AUTH_LEVEL, MIN_AUTH_LEVEL_ORG):
                continue
            level = _parse_auth_level(assignment, where)
            if category == MIN_AUTH_LEVEL:
                requirement = requirement.strictest(AuthLevelRequirement(user=level))
            else:
                requirement = requirement.strictest(AuthLevelRequirement(org=level))
    return requirement


def _parse_auth_level(assignment: Element, where: str) -> int:
    values = [child for child in assignment if _local(child) == "AttributeValue"]
    text = (values[0].text or "").strip() if len(values) == 1 else ""
    if not (text.isascii() and text.isdigit()):
        raise PolicyError(f"{where}: authentication level {text!r} is not a whole number")
    return int(text)
