"""EventStreamSession's rules on real jobs and events (a SQLite database), with a clock the test
moves: the 1 Hz progress cadence, monotonic progress, no repeats after the opening, queue
position updates, a requeued attempt, and the end of the stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sse_starlette import ServerSentEvent

from reelforge.api.event_stream import EventStreamSession
from reelforge.domain.jobs import Job, Lease
from reelforge.domain.specs import GenerationSpec
from reelforge.services.estimates import NO_ESTIMATE, Estimate
from reelforge.services.watch import JobUpdate, Opening
from reelforge.store.database import Database
from tests.support.clock import FakeClock, FakeMonotonic


@pytest.fixture
def db_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database(tmp_path: Path, db_clock: FakeClock) -> Iterator[Database]:
    db = Database.open(f"sqlite:///{tmp_path / 'events.db'}", clock=db_clock)
    yield db
    db.close()


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


def render(job: Job, estimate: Estimate) -> str:
    return json.dumps(
        {
            "status": job.status.value,
            "progress": round(job.progress * 100),
            "position": estimate.queue_position,
        }
    )


def session(clock: FakeMonotonic) -> EventStreamSession:
    return EventStreamSession(render, clock=clock)


def opening(
    database: Database, job_id: str, after: int | None = None, estimate: Estimate = NO_ESTIMATE
) -> Opening:
    events = database.events.for_job(job_id)
    replay = tuple(e for e in events if after is not None and e.seq > after)
    return Opening(database.jobs.get_job(job_id), replay, events[-1].seq, estimate)


def running(database: Database) -> tuple[Job, Lease]:
    job = database.enqueue(GenerationSpec.build("a lighthouse at dusk", seconds=4))
    lease = database.queue.claim("w", lease_seconds=60)
    assert lease is not None
    return job, lease


def names(events: list[ServerSentEvent]) -> list[str]:
    return [str(e.event) for e in events]


def data(event: ServerSentEvent) -> Any:
    return json.loads(str(event.data))


def test_progress_is_sent_every_second_while_running_even_unchanged(
    database: Database, clock: FakeMonotonic
) -> None:
    job, _ = running(database)
    stream = session(clock)
    assert names(stream.opening(opening(database, job.id))) == ["started"]
    assert stream.seconds_until_due() == 1.0
    clock.advance(0.6)
    assert stream.on_tick() == []
    clock.advance(0.4)
    ticked = stream.on_tick()
    assert names(ticked) == ["progress"] and data(ticked[0])["progress"] == 0
    assert stream.seconds_until_due() == 1.0


def test_progress_never_goes_back_and_ids_are_the_last_seq(
    database: Database, clock: FakeMonotonic
) -> None:
    job, lease = running(database)
    database.queue.record_progress(lease, 0.35)
    stream = session(clock)
    first = stream.opening(opening(database, job.id))
    assert names(first) == ["progress"] and data(first[0])["progress"] == 35
    last_seq = database.events.for_job(job.id)[-1].seq
    assert first[0].id == str(last_seq)
    stale = replace(database.jobs.get_job(job.id), progress=0.2)
    assert stream.on_update(JobUpdate(stale, (), NO_ESTIMATE)) == []
    clock.advance(1.0)
    assert data(stream.on_tick()[0])["progress"] == 35


def test_events_read_by_the_opening_are_not_sent_again(
    database: Database, clock: FakeMonotonic
) -> None:
    job, lease = running(database)
    database.queue.record_progress(lease, 0.15)
    events = tuple(database.events.for_job(job.id))
    stream = session(clock)
    replayed = stream.opening(opening(database, job.id, after=0))
    assert names(replayed) == ["queued", "started", "progress", "progress"]
    assert [e.id for e in replayed[:3]] == [str(e.seq) for e in events]
    current = database.jobs.get_job(job.id)
    assert stream.on_update(JobUpdate(current, events, NO_ESTIMATE)) == []


def test_queued_is_sent_again_only_when_the_position_moves(
    database: Database, clock: FakeMonotonic
) -> None:
    job = database.enqueue(GenerationSpec.build("a lighthouse at dusk", seconds=4))
    stream = session(clock)
    sent = stream.opening(opening(database, job.id, estimate=Estimate(3, None, None)))
    assert names(sent) == ["queued"] and data(sent[0])["position"] == 3
    assert stream.seconds_until_due() == float("inf")
    same = JobUpdate(job, (), Estimate(3, None, None))
    assert stream.on_update(same) == []
    moved = stream.on_update(JobUpdate(job, (), Estimate(2, None, None)))
    assert names(moved) == ["queued"] and data(moved[0])["position"] == 2


def test_a_requeued_job_starts_again_from_zero(
    database: Database, clock: FakeMonotonic, db_clock: FakeClock
) -> None:
    job, lease = running(database)
    database.queue.record_progress(lease, 0.5)
    stream = session(clock)
    stream.opening(opening(database, job.id))
    seen = database.events.for_job(job.id)[-1].seq
    db_clock.advance(61)  # the lease expires; the sweeper puts the job back in the queue
    database.queue.sweep_expired(max_attempts=3)
    again = database.queue.claim("w2", lease_seconds=60)
    assert again is not None
    new = tuple(e for e in database.events.for_job(job.id) if e.seq > seen)
    sent = stream.on_update(JobUpdate(database.jobs.get_job(job.id), new, NO_ESTIMATE))
    assert names(sent) == ["queued", "started"]
    assert data(sent[-1])["progress"] == 0


def test_the_terminal_event_or_a_deleted_job_ends_the_stream(
    database: Database, clock: FakeMonotonic
) -> None:
    job = database.enqueue(GenerationSpec.build("a lighthouse at dusk", seconds=4))
    stream = session(clock)
    stream.opening(opening(database, job.id))
    database.jobs.request_cancel(job.id)
    cancelled = database.jobs.get_job(job.id)
    assert not stream.finished
    assert names(stream.on_update(JobUpdate(cancelled, (), NO_ESTIMATE))) == ["cancelled"]
    assert stream.finished and stream.on_tick() == []

    gone = session(clock)
    gone.opening(opening(database, database.enqueue(GenerationSpec.build("x y z", seconds=4)).id))
    assert gone.on_update(JobUpdate(None, (), NO_ESTIMATE)) == [] and gone.finished
