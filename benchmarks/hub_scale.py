"""The change hub alone, in process: what one change costs, and what an idle subscriber
holds, with 1 to 100,000 subscribers of distinct parties (the message box: every end user
subscribed to the instances of their own party, every change concerning one party).

No sockets and no GraphQL: each subscriber is what `instanceChanged` subscribes to the hub
(app/graphql/subscriptions.py): an end user's Access (their own party, role PRIV, the demo
policies), its Visibility, its key, and a subscription held open. One of them owns the party
that every change is made on; the others are never concerned. CPU is this process's
(`time.process_time`), over `changes` dispatches of an update of that party's instance; the
memory is the rise of the resident set while the subscribers subscribed, per subscriber. Each
size runs in a fresh process.
"""

import asyncio
import contextlib
import functools
import gc
import multiprocessing
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.authorization.access import OWN_PARTY_ROLE, Access
from app.authorization.identity import Caller
from app.authorization.policy_repository import PolicyRepository
from app.store.change_feed import StoredChange
from app.subscriptions.hub import ChangeHub
from app.subscriptions.visibility import Visibility, visibility_key
from benchmarks.measure import memory_of

SIZES = (1, 10_000, 100_000)
AT = datetime(2026, 1, 1, tzinfo=UTC)
FIRST_PARTY = 60_000_000


@dataclass
class HubResult:
    subscribers: int
    changes: int
    cpu_s: float  # over all changes
    delivered: int  # events that reached the concerned subscriber
    rss_rise: int  # bytes, while subscribing


def _instance(party: str, label: str) -> dict[str, object]:
    return {
        "_id": party,
        "id": f"{party}/0b4ad1f5-8a22-4d3c-9a3f-6f0d3f0c2a11",
        "appId": "ttd/melding",
        "org": "ttd",
        "instanceOwner": {"partyId": party},
        "process": {"currentTask": {"elementId": "Task_1"}},
        "status": {"isHardDeleted": False, "substatus": {"label": label}},
    }


@contextlib.asynccontextmanager
async def _following(hub: ChangeHub) -> AsyncIterator[None]:
    async def quiet(on_open):  # the changes are dispatched by hand
        on_open()
        await asyncio.Event().wait()
        yield

    following = asyncio.create_task(hub.run(quiet))
    await hub.ready()
    try:
        yield
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def measure_one(subscribers: int, changes: int, policies: PolicyRepository) -> HubResult:
    hub = ChangeHub(queue_size=changes + 1, open_timeout_s=1)
    async with _following(hub), contextlib.AsyncExitStack() as held:
        gc.collect()
        rss_before = memory_of()["VmRSS"]
        opened = []
        for n in range(subscribers):
            party = str(FIRST_PARTY + n)
            caller = Caller(user_id=str(n + 1), party_id=party, auth_level=2)
            access = Access(caller, {party: frozenset({OWN_PARTY_ROLE})}, policies)
            visibility = functools.partial(Visibility, access, None)
            opened.append(
                await held.enter_async_context(hub.subscribe(visibility_key(access, None), visibility, print))
            )
        gc.collect()
        rss_rise = memory_of()["VmRSS"] - rss_before
        concerned = str(FIRST_PARTY)
        before = _instance(concerned, "start")
        started = time.process_time()
        for k in range(changes):
            after = _instance(concerned, f"change {k}")
            hub.dispatch(StoredChange("update", concerned, before, after, AT))
            before = after
        cpu_s = time.process_time() - started
        delivered = opened[0]._queue.qsize()
    return HubResult(subscribers, changes, cpu_s, delivered, rss_rise)


def _measure_in_this_process(subscribers: int, changes: int) -> HubResult:
    return asyncio.run(measure_one(subscribers, changes, PolicyRepository.demo()))


def measure(sizes: Sequence[int] = SIZES, changes: int = 200) -> list[HubResult]:
    """Each size in a fresh process, so that no run's memory or garbage weighs on the next."""
    context = multiprocessing.get_context("spawn")
    results = []
    for size in sizes:
        with context.Pool(1) as pool:
            results.append(pool.apply(_measure_in_this_process, (size, changes)))
    return results


def report(results: Sequence[HubResult], target_ms: float = 5, target_kb: float = 20) -> list[str]:
    lines = [
        "Change hub in process: one change on one party, subscribers of distinct parties (CPU of this process)",
        "",
        "| subscribers | CPU per change | events delivered | resident set per subscriber |",
        "|---|---|---|---|",
    ]
    for result in results:
        per_change_ms = result.cpu_s / max(result.changes, 1) * 1000
        per_subscriber_kb = result.rss_rise / max(result.subscribers, 1) / 1024
        lines.append(
            f"| {result.subscribers:,} | {per_change_ms:.3f} ms | {result.delivered} of {result.changes} | "
            f"{per_subscriber_kb:.1f} KB |"
        )
    largest = max(results, key=lambda r: r.subscribers)
    largest_ms = largest.cpu_s / max(largest.changes, 1) * 1000
    idle_kb = largest.rss_rise / max(largest.subscribers, 1) / 1024
    lines += [
        "",
        f"targets: a change at {largest.subscribers:,} subscribers under {target_ms:.0f} ms of CPU: "
        f"{largest_ms:.3f} ms "
        f"({'met' if largest_ms < target_ms else 'MISSED'}); an idle subscriber under {target_kb:.0f} KB: "
        f"{idle_kb:.1f} KB ({'met' if idle_kb < target_kb else 'MISSED'})",
    ]
    return lines
