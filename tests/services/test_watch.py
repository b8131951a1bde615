"""JobWatchHub on a real database: one read per tick for any number of watches, per-job event
cursors, deleted jobs, unwatching, the opening read, and waking on recorded events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.events import EventType
from reelforge.domain.jobs import Job, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.services.estimates import NO_ESTIMATE, Estimate
from reelforge.services.watch import JobWatchHub, job_as_of
from tests.support.settings import SettingsFactory


@pytest.fixture
def runtime(make_settings: SettingsFactory) -> Iterator[Runtime]:
    live = Runtime.open(make_settings())
    yield live
    live.close()


def position_one(job: Job) -> Estimate:
    return Estimate(1, None, None) if job.status is Status.QUEUED else NO_ESTIMATE


def enqueue(runtime: Runtime) -> Job:
    return runtime.database.enqueue(GenerationSpec.build("a lighthouse at dusk", seconds=4))


def run(coroutine: Callable[[], Any]) -> Any:
    return asyncio.run(coroutine())


def counting(runtime: Runtime, calls: list[int]) -> None:
    """Count the hub's row reads (the real method still runs)."""
    real = runtime.store.get_jobs

    def get_jobs(job_ids: list[str]) -> dict[str, Job]:
        calls.append(len(job_ids))
        return real(job_ids)

    runtime.store.get_jobs = get_jobs  # type: ignore[method-assign]


def test_a_tick_reads_once_whatever_the_number_of_watches(runtime: Runtime) -> None:
    jobs = [enqueue(runtime) for _ in range(5)]
    hub = JobWatchHub(runtime, position_one)
    calls: list[int] = []
    counting(runtime, calls)

    async def scenario() -> list[int]:
        watches = [hub.watch(job.id) for job in jobs for _ in range(20)]
        hub.tick()
        updates = [await w.next(1) for w in watches]
        assert all(u is not None and u.job is not None for u in updates)
        assert hub.watching() == 100
        return calls

    reads = run(scenario)
    # Rows of the five jobs in one query, then the five jobs re-read once because events came.
    assert reads == [5, 5]


def test_each_watch_gets_its_jobs_new_events_once(runtime: Runtime) -> None:
    job = enqueue(runtime)
    other = enqueue(runtime)
    hub = JobWatchHub(runtime, position_one)

    async def scenario() -> None:
        watch = hub.watch(job.id)
        hub.watch(other.id)
        hub.tick()
        first = await watch.next(1)
        assert first is not None and [e.type for e in first.events] == [EventType.QUEUED]
        assert first.estimate.queue_position == 1
        hub.tick()
        assert await watch.next(0.05) is None  # nothing changed: nothing posted
        lease = runtime.queue.claim("w", lease_seconds=60)
        assert lease is not None and lease.job_id == job.id
        hub.tick()
        started = await watch.next(1)
        assert started is not None and started.job is not None
        assert [e.type for e in started.events] == [EventType.STARTED]
        assert started.job.status is Status.RUNNING

    run(scenario)


def test_a_deleted_job_is_posted_as_gone_and_unwatching_forgets(runtime: Runtime) -> None:
    job = enqueue(runtime)
    hub = JobWatchHub(runtime, position_one)

    async def scenario() -> None:
        watch = hub.watch(job.id)
        hub.tick()
        assert await watch.next(1) is not None
        runtime.store.delete_job(job.id)
        hub.tick()
        gone = await watch.next(1)
        assert gone is not None and gone.job is None
        hub.unwatch(watch)
        assert hub.watching() == 0
        hub.tick()  # nothing watched: no reads, state dropped

    run(scenario)


def test_open_replays_events_after_the_given_seq(runtime: Runtime) -> None:
    job = enqueue(runtime)
    lease = runtime.queue.claim("w", lease_seconds=60)
    assert lease is not None
    runtime.queue.record_progress(lease, 0.25)
    hub = JobWatchHub(runtime, position_one)
    everything = runtime.database.events.for_job(job.id)
    assert [e.type for e in everything] == [EventType.QUEUED, EventType.STARTED, EventType.PROGRESS]

    fresh = hub.open(job.id, None, None)
    assert fresh.replay == () and fresh.last_seq == everything[-1].seq
    resumed = hub.open(job.id, None, everything[0].seq)
    assert [e.type for e in resumed.replay] == [EventType.STARTED, EventType.PROGRESS]
    started = job_as_of(resumed.job, resumed.replay[0])
    assert started.status is Status.RUNNING and started.progress == 0
    assert job_as_of(resumed.job, resumed.replay[1]).progress == 0.25


def test_the_running_hub_wakes_on_recorded_events(runtime: Runtime) -> None:
    job = enqueue(runtime)
    hub = JobWatchHub(runtime, position_one, interval=30)  # only a wake-up can be fast
    hub.start()

    async def scenario() -> float:
        watch = hub.watch(job.id)
        began = time.monotonic()
        runtime.store.request_cancel(job.id)  # its event wakes the hub, 30 s before its tick
        update = await watch.next(20)
        assert update is not None and update.job is not None
        assert update.job.status is Status.CANCELLED
        return time.monotonic() - began

    try:
        waited = run(scenario)
    finally:
        hub.stop()
    assert waited < 20
