from collections.abc import Mapping
from typing import ClassVar

import strawberry

from app.graphql.scalars import DateTime
from app.graphql.types.values import Flag, Nested, Stored, integer, read_document, text, timestamp


@strawberry.type(description="When the task was last validated (obsolete, kept in old documents).")
class ValidationStatus:
    timestamp: DateTime | None
    can_complete_task: bool

    STORED: ClassVar[Mapping[str, Stored]] = {
        "timestamp": Stored("timestamp", timestamp),
        "can_complete_task": Stored("canCompleteTask", Flag(False)),
    }
    from_document = classmethod(read_document)


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
    started: DateTime | None
    start_event: str | None
    current_task: ProcessElementInfo | None
    ended: DateTime | None
    end_event: str | None

    STORED: ClassVar[Mapping[str, Stored]] = {
        "started": Stored("started", timestamp),
        "start_event": Stored("startEvent", text),
        "current_task": Stored("currentTask", Nested(ProcessElementInfo)),
        "ended": Stored("ended", timestamp),
        "end_event": Stored("endEvent", text),
    }
    from_document = classmethod(read_document)
