from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app.graphql.scalars import DateTime
from app.values import Flag, Nested, Stored, integer, read_document, text, timestamp


@strawberry.type(description="When the task was last validated (obsolete, kept in old documents).")
class ValidationStatus:
    # Named apart from the `timestamp` reader, which the STORED table below calls.
    validated_at: DateTime | None = strawberry.field(name="timestamp", description="When the task was validated.")
    can_complete_task: bool = strawberry.field(
        description="Whether validation let the task be completed. Missing reads as false."
    )

    STORED: ClassVar[Mapping[str, Stored]] = {
        "validated_at": Stored("timestamp", timestamp),
        "can_complete_task": Stored("canCompleteTask", Flag(False)),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="The current step of the process.")
class ProcessElementInfo:
    flow: int | None = strawberry.field(
        description="A step counter that increases each time the process moves forward."
    )
    started: DateTime | None = strawberry.field(description="When the task started.")
    element_id: str | None = strawberry.field(description="The id of the task, e.g. Task_1.")
    name: str | None = strawberry.field(description="The task's name in the app's process definition.")
    altinn_task_type: str | None = strawberry.field(
        description="The task's type: data, confirmation, signing, payment or feedback."
    )
    ended: DateTime | None = strawberry.field(description="When the task ended; null while it is current.")
    validated: ValidationStatus | None = strawberry.field(
        description="The task's last validation; obsolete, so only old documents have it."
    )
    flow_type: str | None = strawberry.field(
        description="How the process came to this task: CompleteCurrentMoveToNext or AbandonCurrentReturnToNext."
    )

    STORED: ClassVar[Mapping[str, Stored]] = {
        "flow": Stored("flow", integer),
        "started": Stored("started", timestamp),
        "element_id": Stored("elementId", text),
        "name": Stored("name", text),
        "altinn_task_type": Stored("altinnTaskType", text),
        "ended": Stored("ended", timestamp),
        "validated": Stored("validated", Nested(ValidationStatus)),
        "flow_type": Stored("flowType", text),
    }
    from_document = classmethod(read_document)


@strawberry.type(description="Where the instance is in its process.")
class ProcessState:
    started: DateTime | None = strawberry.field(description="When the process started.")
    start_event: str | None = strawberry.field(description="The id of the event it started with, e.g. StartEvent_1.")
    current_task: ProcessElementInfo | None = strawberry.field(
        description="The task the instance is at; null once the process has ended."
    )
    ended: DateTime | None = strawberry.field(
        description="When the process ended, which archives the instance; null while a task is current."
    )
    end_event: str | None = strawberry.field(
        description="The id of the event it ended in, e.g. EndEvent_1; null until it has ended."
    )

    STORED: ClassVar[Mapping[str, Stored]] = {
        "started": Stored("started", timestamp),
        "start_event": Stored("startEvent", text),
        "current_task": Stored("currentTask", Nested(ProcessElementInfo)),
        "ended": Stored("ended", timestamp),
        "end_event": Stored("endEvent", text),
    }
    from_document = classmethod(read_document)
