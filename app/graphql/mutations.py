from typing import Annotated

import strawberry

from app.actions import MAX_BULK_DELETE
from app.graphql.info import Info
from app.graphql.inputs import InstanceFilter, plain_data
from app.graphql.types.instance import Instance, InstanceId
from app.graphql.types.status import ReadStatus

HardDelete = Annotated[
    bool,
    strawberry.argument(
        description="false (the default): into the recycle bin, from which restoreInstance takes it; "
        "true: for good, and purged later."
    ),
]


@strawberry.input(description="A substatus replaces the previous one whole.")
class SubstatusInput:
    label: str = strawberry.field(description="Required, non-empty; the message box shows at most 25 characters.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="A longer explanation, shown with the receipt; null or left out: none."
    )


@strawberry.type(description="A chosen instance that could not be deleted, and why.")
class BulkDeleteFailure:
    instance_id: strawberry.ID = strawberry.field(description="The instance's id.")
    code: str = strawberry.field(description="The error's code, as in extensions.code: FORBIDDEN, NOT_FOUND, ...")
    message: str = strawberry.field(description="What went wrong, for a person to read.")


@strawberry.type(description="What deleteInstances found, and what it did or, in a dry run, would do.")
class BulkDeleteResult:
    matched: int = strawberry.field(description="How many instances the filter matches that the caller can see.")
    deleted: int = strawberry.field(description="How many of the chosen instances this call deleted.")
    dry_run: bool = strawberry.field(description="true: a dry run, which deleted nothing.")
    instance_ids: list[strawberry.ID] = strawberry.field(
        description="The instances chosen (up to `limit`); unless a dry run, each was deleted, unchanged or failed."
    )
    failed: list[BulkDeleteFailure] = strawberry.field(
        description="The chosen instances that could not be deleted; each of the others was deleted or unchanged."
    )
    unchanged: int = strawberry.field(
        description="How many of the chosen instances were already deleted as asked (a rerun, say): nothing to do."
    )
    unchanged_ids: list[strawberry.ID] = strawberry.field(description="The instances counted in `unchanged`.")


@strawberry.type(
    description="Changes of instances, each atomic on its instance and recorded in its audit trail; a repeat "
    "that changes nothing records nothing."
)
class Mutation:
    @strawberry.mutation(description="Set the substatus (app owner only); null clears it.")
    async def set_substatus(
        self,
        info: Info,
        instance_id: InstanceId,
        substatus: Annotated[
            SubstatusInput | None, strawberry.argument(description="The new substatus; null clears it.")
        ] = strawberry.UNSET,
    ) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.set_substatus(str(instance_id), plain_data(substatus)))

    @strawberry.mutation(description="Soft delete (recycle bin), or hard delete (unrecoverable); a repeat is no error.")
    async def delete_instance(self, info: Info, instance_id: InstanceId, hard: HardDelete = False) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.delete(str(instance_id), hard=hard))

    @strawberry.mutation(description="Take a soft-deleted instance out of the recycle bin.")
    async def restore_instance(self, info: Info, instance_id: InstanceId) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.restore(str(instance_id)))

    @strawberry.mutation(
        description=(
            "Delete the instances `filter` matches, each checked on its own. A dry run (the default) "
            "only reports what would be deleted."
        )
    )
    async def delete_instances(
        self,
        info: Info,
        filter: Annotated[
            InstanceFilter,
            strawberry.argument(
                description="The instances to delete, among those the caller may see; hard-deleted ones are "
                "left out unless it asks about status.isHardDeleted."
            ),
        ],
        hard: HardDelete = False,
        dry_run: Annotated[
            bool, strawberry.argument(description="true (the default): report what would be deleted, delete nothing.")
        ] = True,
        limit: Annotated[
            int | None,
            strawberry.argument(
                description=f"How many instances to choose at most, 1 to {MAX_BULK_DELETE}, the most recently "
                "changed first; `matched` counts all that match."
            ),
        ] = MAX_BULK_DELETE,
    ) -> BulkDeleteResult:
        actions = await info.context.actions()
        access = await info.context.access()
        result = await actions.delete_many(
            access.instance_filter(plain_data(filter)) or {},
            hard=hard,
            dry_run=dry_run,
            limit=MAX_BULK_DELETE if limit is None else limit,
        )
        return BulkDeleteResult(
            matched=result.matched,
            deleted=result.deleted,
            dry_run=result.dry_run,
            instance_ids=[strawberry.ID(i) for i in result.instance_ids],
            failed=[
                BulkDeleteFailure(instance_id=strawberry.ID(i), code=e.code, message=e.message)
                for i, e in result.failed
            ],
            unchanged=len(result.unchanged_ids),
            unchanged_ids=[strawberry.ID(i) for i in result.unchanged_ids],
        )

    @strawberry.mutation(description="Confirm, as the app owner, that the instance is no longer needed; idempotent.")
    async def confirm_complete(self, info: Info, instance_id: InstanceId) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.confirm_complete(str(instance_id)))

    @strawberry.mutation(description="Set whether the app user has read the instance; lastChanged stays.")
    async def set_read_status(
        self,
        info: Info,
        instance_id: InstanceId,
        status: Annotated[ReadStatus, strawberry.argument(description="The read status to set.")],
    ) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.set_read_status(str(instance_id), status.value))
