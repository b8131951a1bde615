"""QueueStats: the queued work ahead of a job in claim order, the running jobs, and how long
recent completed jobs took (the raw figures behind positions and estimates)."""

from __future__ import annotations

from datetime import timedelta

from reelforge.domain.jobs import JobOutputs, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.stats import QueuedAhead
from tests.support.clock import FakeClock

OUTPUTS = JobOutputs("v.mp4", "t.webp", "s.jpg")


def spec(seconds: int = 4, model: str = "sora-2") -> GenerationSpec:
    return GenerationSpec.build("a kite over a beach", model=model, seconds=seconds, seed=1)


def run_to_completion(database: Database, clock: FakeClock, compute_seconds: float) -> str:
    lease = database.queue.claim("w1", lease_seconds=600)
    assert lease is not None
    clock.advance(compute_seconds)
    database.queue.complete(lease, OUTPUTS, "testcard")
    return lease.job_id


def test_work_ahead_follows_claim_order_and_counts_only_queued_jobs(
    database: Database, clock: FakeClock
) -> None:
    first = database.enqueue(spec(4), "key_a", job_id="00000000-0000-0000-0000-00000000000b")
    # Another key, the same fair tag and created_at as the first: the id breaks the tie, as it
    # does when workers claim.
    tie = database.enqueue(
        spec(8, "sora-2-pro"), "key_b", job_id="00000000-0000-0000-0000-00000000000a"
    )
    clock.advance(1)
    third = database.enqueue(spec(12))
    clock.advance(1)
    fourth = database.enqueue(spec(4))

    assert database.stats.queued_ahead(tie) == QueuedAhead(0, {})
    assert database.stats.queued_ahead(first) == QueuedAhead(1, {"sora-2-pro": 8})
    assert database.stats.queued_ahead(fourth) == QueuedAhead(3, {"sora-2": 16, "sora-2-pro": 8})

    lease = database.queue.claim("w1", lease_seconds=60)
    assert lease is not None and lease.job_id == tie.id  # the order the stats assumed
    database.jobs.request_cancel(third.id)
    assert database.stats.queued_ahead(fourth) == QueuedAhead(1, {"sora-2": 4})
    assert database.stats.queued_work() == QueuedAhead(2, {"sora-2": 8})


def test_running_jobs_carry_their_progress_and_start(database: Database, clock: FakeClock) -> None:
    database.enqueue(spec(8))
    lease = database.queue.claim("w1", lease_seconds=60)
    assert lease is not None
    started = clock()
    clock.advance(3)
    database.queue.record_progress(lease, 0.25, "denoising")
    [running] = database.stats.running()
    assert (running.model, running.seconds, running.progress) == ("sora-2", 8, 0.25)
    assert running.started_at == started


def test_recent_completions_measure_the_last_attempt_of_completed_jobs_only(
    database: Database, clock: FakeClock
) -> None:
    for seconds in (4, 8, 4):
        database.enqueue(spec(seconds))
        clock.advance(1)
    first = run_to_completion(database, clock, 10)
    # The second job is lost once (swept) and then completes in 24 s on its second attempt.
    lost = database.queue.claim("crashy", lease_seconds=5)
    assert lost is not None
    clock.advance(6)
    assert database.queue.sweep_expired(max_attempts=3).requeued == [lost.job_id]
    second = run_to_completion(database, clock, 24)
    failed = database.queue.claim("w1", lease_seconds=60)
    assert failed is not None
    database.queue.fail(failed, "engine_error", "boom")

    runs = database.stats.recent_completions(clock())
    assert [(r.engine, r.model, r.seconds, r.compute_seconds) for r in runs] == [
        ("testcard", "sora-2", 8, 24.0),
        ("testcard", "sora-2", 4, 10.0),
    ]
    assert database.jobs.get_job(first).status is Status.COMPLETED
    assert database.jobs.get_job(second).status is Status.COMPLETED


def test_completions_older_than_the_window_are_not_recent(
    database: Database, clock: FakeClock
) -> None:
    database.enqueue(spec(4))
    run_to_completion(database, clock, 10)
    assert len(database.stats.recent_completions(clock())) == 1
    later = clock() + timedelta(hours=24, seconds=1)
    assert database.stats.recent_completions(later) == []
