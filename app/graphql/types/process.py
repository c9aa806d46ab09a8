from collections.abc import Mapping
from typing import Any

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.values import flag, integer, nested, text, timestamp


@strawberry.type(description="When the task was last validated (obsolete, kept in old documents).")
class ValidationStatus:
    timestamp: DateTime | None
    can_complete_task: bool

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "ValidationStatus":
        return cls(
            timestamp=timestamp(doc.get("timestamp")),
            can_complete_task=flag(doc.get("canCompleteTask"), False),
        )


@strawberry.type(description="The current step of the process.")
class ProcessElementInfo:
    flow: int | None = strawberry.field(
        description="A step counter that increases each time the process moves forward."
    )
    started: DateTime | None
    element_id: str | None = strawberry.field(description="The id of the task, e.g. Task_1.")
    name: str | None
    altinn_task_type: str | None = strawberry.field(description="data, confirmation, signing, payment or feedback.")
    ended: DateTime | None
    validated: ValidationStatus | None
    flow_type: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "ProcessElementInfo":
        return cls(
            flow=integer(doc.get("flow")),
            started=timestamp(doc.get("started")),
            element_id=text(doc.get("elementId")),
            name=text(doc.get("name")),
            altinn_task_type=text(doc.get("altinnTaskType")),
            ended=timestamp(doc.get("ended")),
            validated=nested(doc.get("validated"), ValidationStatus.from_document),
            flow_type=text(doc.get("flowType")),
        )


@strawberry.type(description="Where the instance is in its process.")
class ProcessState:
    started: DateTime | None
    start_event: str | None
    current_task: ProcessElementInfo | None
    ended: DateTime | None
    end_event: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "ProcessState":
        return cls(
            started=timestamp(doc.get("started")),
            start_event=text(doc.get("startEvent")),
            current_task=nested(doc.get("currentTask"), ProcessElementInfo.from_document),
            ended=timestamp(doc.get("ended")),
            end_event=text(doc.get("endEvent")),
        )
