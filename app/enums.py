"""Altinn's enumerations as documents store them, shared by both edges: each describes and
spells them in its own way (GraphQL's enums in app/graphql/types/, REST's in app/rest/model.py)."""

from enum import Enum


class ReadStatus(Enum):
    UNREAD = "Unread"
    READ = "Read"
    UPDATED_SINCE_LAST_REVIEW = "UpdatedSinceLastReview"


class FileScanResult(Enum):
    NOT_APPLICABLE = "NotApplicable"
    PENDING = "Pending"
    CLEAN = "Clean"
    INFECTED = "Infected"


class InstanceGroupKey(Enum):
    """What instances may be counted by; each value names the group's field that holds it."""

    APP_ID = "appId"
    ORG = "org"
    CURRENT_TASK = "currentTask"
    READ_STATUS = "readStatus"
    IS_ARCHIVED = "isArchived"
    IS_SOFT_DELETED = "isSoftDeleted"
    IS_HARD_DELETED = "isHardDeleted"
    SUBSTATUS_LABEL = "substatusLabel"
    PARTY_ID = "partyId"
    CREATED_MONTH = "createdMonth"
    LAST_CHANGED_MONTH = "lastChangedMonth"
