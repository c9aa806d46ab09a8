import strawberry

from app.actions import MAX_BULK_DELETE
from app.graphql.context import Info
from app.graphql.inputs import InstanceFilter, plain_data
from app.graphql.types.instance import Instance
from app.graphql.types.status import ReadStatus


@strawberry.input(description="A substatus replaces the previous one whole.")
class SubstatusInput:
    label: str = strawberry.field(description="Required, non-empty; the message box shows at most 25 characters.")
    description: str | None = strawberry.UNSET


@strawberry.type
class BulkDeleteFailure:
    instance_id: strawberry.ID
    code: str
    message: str


@strawberry.type
class BulkDeleteResult:
    matched: int = strawberry.field(description="How many instances the filter matches that the caller can see.")
    deleted: int = strawberry.field(description="How many of the chosen instances this call deleted.")
    dry_run: bool
    instance_ids: list[strawberry.ID] = strawberry.field(
        description="The instances chosen (up to `limit`); unless a dry run, each was deleted, unchanged or failed."
    )
    failed: list[BulkDeleteFailure]
    unchanged: int = strawberry.field(
        description="How many of the chosen instances were already deleted as asked (a rerun, say): nothing to do."
    )
    unchanged_ids: list[strawberry.ID] = strawberry.field(description="The instances counted in `unchanged`.")


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Set the substatus (app owner only); null clears it.")
    async def set_substatus(
        self, info: Info, instance_id: strawberry.ID, substatus: SubstatusInput | None = strawberry.UNSET
    ) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.set_substatus(str(instance_id), plain_data(substatus)))

    @strawberry.mutation(description="Soft delete (recycle bin), or hard delete (unrecoverable); a repeat is no error.")
    async def delete_instance(self, info: Info, instance_id: strawberry.ID, hard: bool = False) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.delete(str(instance_id), hard=hard))

    @strawberry.mutation(description="Take a soft-deleted instance out of the recycle bin.")
    async def restore_instance(self, info: Info, instance_id: strawberry.ID) -> Instance:
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
        filter: InstanceFilter,
        hard: bool = False,
        dry_run: bool = True,
        limit: int | None = MAX_BULK_DELETE,
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
    async def confirm_complete(self, info: Info, instance_id: strawberry.ID) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.confirm_complete(str(instance_id)))

    @strawberry.mutation(description="Set whether the app user has read the instance; lastChanged stays.")
    async def set_read_status(self, info: Info, instance_id: strawberry.ID, status: ReadStatus) -> Instance:
        actions = await info.context.actions()
        return Instance.from_document(await actions.set_read_status(str(instance_id), status.value))
