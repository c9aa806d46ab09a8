"""Whether the gateway is ready to serve: the database has been prepared (indexes, the audit
events of interrupted changes, the seed), answers now, and records the audit events of changes.

While the database is unreachable the gateway still starts: it answers SERVICE_UNAVAILABLE
and prepares the database in the background as soon as it answers, without a restart."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.errors import ServiceUnavailable
from app.store.database import Database

log = logging.getLogger("instance_gateway")

RETRY_SECONDS = 1.0


class Readiness:
    def __init__(
        self,
        database: Database,
        prepare: Callable[[], Awaitable[None]],
        ping_timeout_ms: int,
        recording_failure: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._database = database
        self._prepare = prepare
        self._ping_timeout_ms = ping_timeout_ms
        # A database that answers pings but refuses to record the audit events of applied changes.
        self._recording_failure = recording_failure
        self._not_prepared: str | None = "the database is being prepared"
        self._retrying: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Prepare the database now or, while it is unreachable, in the background. Any other
        failure is raised: the gateway cannot run with it."""
        try:
            await self._prepare_if_it_answers()
        except ServiceUnavailable as error:
            log.warning(
                "the database does not answer; until it does, requests get SERVICE_UNAVAILABLE and /readyz 503 (%s)",
                self._database.describe_failure(error),
            )
            self._not_prepared = "the database has not answered since the gateway started"
            self._retrying = asyncio.create_task(self._prepare_when_it_answers())
            return
        self._not_prepared = None

    async def _prepare_when_it_answers(self) -> None:
        # The flag, not the cancellation alone, ends the loop: the driver can turn a
        # cancellation that lands inside a ping into a failed ping, and the loop would go on.
        while not self._stopping:
            await asyncio.sleep(RETRY_SECONDS)
            try:
                await self._prepare_if_it_answers()
            except ServiceUnavailable:
                continue
            except Exception:
                log.exception("preparing the database failed; /readyz answers 503 until the gateway restarts")
                self._not_prepared = "preparing the database failed; see the log"
                return
            self._not_prepared = None
            log.info("the database answers and is prepared: ready")
            return

    async def _prepare_if_it_answers(self) -> None:
        # Preparing may take minutes, and would wait as long for a database that is down.
        await self._database.ping(self._ping_timeout_ms)
        await self._prepare()

    async def stop(self) -> None:
        self._stopping = True
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying

    async def reason_not_ready(self) -> str | None:
        """Why the gateway is not ready; None when it is."""
        if self._not_prepared is not None:
            return self._not_prepared
        if (failure := self._recording_failure()) is not None:
            return failure
        try:
            await self._database.ping(self._ping_timeout_ms)
        except ServiceUnavailable as error:
            return error.message
        return None
