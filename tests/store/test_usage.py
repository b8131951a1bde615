"""The usage ledger, written by whoever ends an attempt or a job, in that same transaction:
compute measured per attempt (a dead worker's up to its last heartbeat), outcomes counted,
committed seconds given back by failures, cancels and deletes of unfinished jobs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reelforge.domain.errors import LeaseLost
from reelforge.domain.jobs import Job, JobOutputs, Lease
from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.usage import UsageRow, UsageTotal
from tests.support.clock import FakeClock

OWNER = "k1"
DAY = "2026-12-01"  # the fake clock's first day
OUTPUTS = JobOutputs("jobs/x/a/video.mp4", "jobs/x/a/t.webp", "jobs/x/a/s.jpg")


def spec(seconds: int = 4, model: str = "sora-2") -> GenerationSpec:
    return GenerationSpec.build("a kite over a beach", seconds=seconds, seed=1, model=model)


def ledger(database: Database, owner: str = OWNER, day: str = DAY) -> UsageRow:
    [row] = database.usage.daily(owner, day, day)
    return row


def counts(row: UsageRow) -> tuple[int, int, int, int, int, int, float]:
    """(jobs, completed, failed, cancelled, committed, delivered, compute)."""
    return (
        row.jobs,
        row.completed,
        row.failed,
        row.cancelled,
        row.video_seconds_committed,
        row.video_seconds_delivered,
        row.compute_seconds,
    )


def claimed(database: Database, job: Job, worker: str = "w1") -> Lease:
    lease = database.queue.claim(worker, lease_seconds=30)
    assert lease is not None and lease.job_id == job.id
    return lease


def attempt_compute(database: Database, job_id: str) -> list[float | None]:
    return [attempt.compute_seconds for attempt in database.jobs.attempts(job_id)]


def test_a_completed_job_delivers_its_seconds_and_its_compute(
    database: Database, clock: FakeClock
) -> None:
    job = database.enqueue(spec(seconds=8), OWNER)
    assert counts(ledger(database)) == (1, 0, 0, 0, 8, 0, 0.0)
    lease = claimed(database, job)
    clock.advance(12.5)
    done = database.queue.complete(lease, OUTPUTS, "testcard")
    assert done.compute_seconds == 12.5
    assert attempt_compute(database, job.id) == [12.5]
    assert counts(ledger(database)) == (1, 1, 0, 0, 8, 8, 12.5)


def test_a_failed_job_gives_its_committed_seconds_back_and_keeps_its_compute(
    database: Database, clock: FakeClock
) -> None:
    job = database.enqueue(spec(), OWNER)
    lease = claimed(database, job)
    clock.advance(3)
    failed = database.queue.fail(lease, "engine_error", "the model produced NaNs")
    assert failed.compute_seconds == 3.0
    assert counts(ledger(database)) == (1, 0, 1, 0, 0, 0, 3.0)


def test_cancels_give_committed_seconds_back_queued_at_once_running_with_compute(
    database: Database, clock: FakeClock
) -> None:
    queued = database.enqueue(spec(), OWNER)
    running = database.enqueue(spec(seconds=8), OWNER)
    database.jobs.request_cancel(queued.id)
    assert counts(ledger(database)) == (2, 0, 0, 1, 8, 0, 0.0)
    lease = claimed(database, running)
    clock.advance(2)
    database.jobs.request_cancel(running.id)  # flags it; the worker stops and says so
    assert counts(ledger(database)) == (2, 0, 0, 1, 8, 0, 0.0)
    clock.advance(1)
    database.queue.cancelled(lease)
    assert counts(ledger(database)) == (2, 0, 0, 2, 0, 0, 3.0)


def test_a_released_attempt_counts_its_compute_and_the_job_stays_committed(
    database: Database, clock: FakeClock
) -> None:
    job = database.enqueue(spec(), OWNER)
    first = claimed(database, job)
    clock.advance(5)
    database.queue.release(first)
    assert counts(ledger(database)) == (1, 0, 0, 0, 4, 0, 5.0)
    second = claimed(database, job, "w2")
    clock.advance(7)
    done = database.queue.complete(second, OUTPUTS, "testcard")
    assert done.compute_seconds == 12.0
    assert attempt_compute(database, job.id) == [5.0, 7.0]
    assert counts(ledger(database)) == (1, 1, 0, 0, 4, 4, 12.0)


def test_a_lost_attempt_is_measured_to_its_last_heartbeat_and_the_zombie_adds_nothing(
    database: Database, clock: FakeClock
) -> None:
    job = database.enqueue(spec(), OWNER)
    zombie = claimed(database, job, "zombie")
    clock.advance(5)
    database.queue.heartbeat(zombie, 0.2, lease_seconds=30)
    clock.advance(10)
    database.queue.record_progress(zombie, 0.4)  # its last write: 15 s after the claim
    clock.advance(31)  # then it stops answering; the lease runs out
    clock.advance(20)  # and is swept a while later
    assert database.queue.sweep_expired(max_attempts=3).requeued == [job.id]
    assert attempt_compute(database, job.id) == [15.0]
    assert database.jobs.get_job(job.id).compute_seconds == 15.0
    assert counts(ledger(database)) == (1, 0, 0, 0, 4, 0, 15.0)

    owner = claimed(database, job, "owner")
    clock.advance(4)
    database.queue.complete(owner, OUTPUTS, "testcard")
    settled = counts(ledger(database))
    assert settled == (1, 1, 0, 0, 4, 4, 19.0)
    # The zombie wakes up: every write it tries is fenced out, and so is its compute.
    for late in (
        lambda: database.queue.complete(zombie, OUTPUTS, "testcard"),
        lambda: database.queue.fail(zombie, "engine_error", "late failure"),
        lambda: database.queue.cancelled(zombie),
        lambda: database.queue.release(zombie),
    ):
        with pytest.raises(LeaseLost):
            late()
    assert counts(ledger(database)) == settled
    assert attempt_compute(database, job.id) == [15.0, 4.0]
    assert database.jobs.get_job(job.id).compute_seconds == 19.0


def test_a_swept_job_ends_cancelled_when_asked_or_failed_out_of_attempts(
    database: Database, clock: FakeClock
) -> None:
    asked = database.enqueue(spec(), OWNER)
    crashy = database.enqueue(spec(seconds=8), OWNER)
    claimed(database, asked)
    clock.advance(6)
    database.jobs.request_cancel(asked.id)  # flagged; then its worker dies
    clock.advance(40)
    database.queue.sweep_expired(max_attempts=1)
    assert counts(ledger(database)) == (2, 0, 0, 1, 8, 0, 6.0)
    lease = claimed(database, crashy)
    clock.advance(2)
    database.queue.heartbeat(lease, 0.1, lease_seconds=30)
    clock.advance(40)
    assert database.queue.sweep_expired(max_attempts=1).failed == [crashy.id]
    assert counts(ledger(database)) == (2, 0, 1, 1, 0, 0, 8.0)


def test_deleting_a_finished_job_leaves_the_ledger_and_an_unfinished_one_gives_back(
    database: Database, clock: FakeClock
) -> None:
    completed = database.enqueue(spec(seconds=8), OWNER)
    queued = database.enqueue(spec(seconds=4), OWNER)
    running = database.enqueue(spec(seconds=12), OWNER)
    lease = claimed(database, completed)
    clock.advance(10)
    database.queue.complete(lease, OUTPUTS, "testcard")
    before = counts(ledger(database))
    assert before == (3, 1, 0, 0, 24, 8, 10.0)
    database.jobs.delete_job(completed.id)
    assert counts(ledger(database)) == before
    database.jobs.delete_job(queued.id)
    assert counts(ledger(database)) == (3, 1, 0, 1, 20, 8, 10.0)
    lease = claimed(database, running)
    clock.advance(7)
    database.jobs.delete_job(running.id)  # the owner deletes it mid-render
    assert counts(ledger(database)) == (3, 1, 0, 2, 8, 8, 17.0)
    with pytest.raises(LeaseLost):  # its worker is fenced out, compute included
        database.queue.complete(lease, OUTPUTS, "testcard")
    assert counts(ledger(database)) == (3, 1, 0, 2, 8, 8, 17.0)


def test_usage_counts_on_the_day_the_job_was_created(engine: sa.Engine) -> None:
    clock = FakeClock()
    clock.advance(12 * 3600 - 10)  # 23:59:50
    database = Database(engine, clock=clock)
    job = database.enqueue(spec(), OWNER)
    lease = claimed(database, job)
    clock.advance(30)  # finishes on the next day
    database.queue.complete(lease, OUTPUTS, "testcard")
    assert counts(ledger(database)) == (1, 1, 0, 0, 4, 4, 30.0)
    assert database.usage.daily(OWNER, "2026-12-02", "2026-12-02") == []


def test_daily_rows_by_owner_and_range_and_totals_by_key_name(
    database: Database, clock: FakeClock
) -> None:
    alpha = database.keys.create("alpha").key.id
    beta = database.keys.create("beta").key.id
    local_model = "sora-2-pro-2025-10-06"
    for owner, model in (
        (alpha, "sora-2"),
        (alpha, "sora-2-pro"),
        (beta, "sora-2"),
        (None, local_model),
    ):
        job = database.enqueue(spec(model=model), owner)
        lease = claimed(database, job)
        clock.advance(1)
        database.queue.complete(lease, OUTPUTS, "testcard")
    clock.advance(86_400)  # the next day
    database.enqueue(spec(seconds=8), alpha)

    rows = database.usage.daily(alpha, DAY, "2026-12-02")
    assert [(r.day, r.model, r.key_name, r.jobs) for r in rows] == [
        (DAY, "sora-2", "alpha", 1),
        (DAY, "sora-2-pro", "alpha", 1),
        ("2026-12-02", "sora-2", "alpha", 1),
    ]
    assert [r.day for r in database.usage.daily(alpha, "2026-12-02", "2026-12-31")] == [
        "2026-12-02"
    ]
    everyone = database.usage.daily(None, DAY, DAY)
    assert {(r.owner, r.key_name) for r in everyone} == {
        (alpha, "alpha"),
        (beta, "beta"),
        ("", None),
    }
    assert database.usage.totals() == [
        UsageTotal("alpha", "sora-2", 1, 0, 0, 4, 1.0),
        UsageTotal("alpha", "sora-2-pro", 1, 0, 0, 4, 1.0),
        UsageTotal("beta", "sora-2", 1, 0, 0, 4, 1.0),
        UsageTotal("local", local_model, 1, 0, 0, 4, 1.0),
    ]


def test_one_sweep_settles_several_jobs_each_in_its_owners_row(
    database: Database, clock: FakeClock
) -> None:
    database.enqueue(spec(), "k1")
    database.enqueue(spec(seconds=8), "k2")
    leases = [database.queue.claim(worker, lease_seconds=30) for worker in ("w1", "w2")]
    clock.advance(4)
    for lease in leases:
        assert lease is not None
        database.queue.heartbeat(lease, 0.5, lease_seconds=30)  # their last words
    clock.advance(40)
    assert len(database.queue.sweep_expired(max_attempts=1).failed) == 2
    assert counts(ledger(database, "k1")) == (1, 0, 1, 0, 0, 0, 4.0)
    assert counts(ledger(database, "k2")) == (1, 0, 1, 0, 0, 0, 4.0)
