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
