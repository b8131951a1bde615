"""QueueEstimator: queue positions in claim order and time estimates from measured throughput.

The tests act as the one worker through the real queue (claim, progress, complete) on a fake
clock, so every figure is known: history jobs of 4 s of video took 10, 12 and 14 s, a median of
3 compute seconds per video second, so each 4-second job is expected to take 12 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Job, JobOutputs, Lease
from reelforge.domain.specs import GenerationSpec
from reelforge.services.estimates import NO_ESTIMATE, Estimate, QueueEstimator, fill_slots
from tests.support.clock import FakeClock
from tests.support.settings import SettingsFactory

OUTPUTS = JobOutputs("v.mp4", "t.webp", "s.jpg")
EXPECTED_JOB_SECONDS = 12.0  # 4 s of video at the measured median of 3 s per second


def spec(seconds: int = 4, model: str = "sora-2") -> GenerationSpec:
    return GenerationSpec.build("a kite over a beach", model=model, seconds=seconds, seed=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(make_settings: SettingsFactory, clock: FakeClock) -> Iterator[Runtime]:
    runtime = Runtime.open(make_settings(), clock=clock)
    yield runtime
    runtime.close()


@pytest.fixture
def estimator(runtime: Runtime, clock: FakeClock) -> QueueEstimator:
    return QueueEstimator(runtime, clock=clock, cache_seconds=0)


def claim(runtime: Runtime) -> Lease:
    lease = runtime.queue.claim("the-worker", lease_seconds=600)
    assert lease is not None
    return lease


def run_jobs(runtime: Runtime, clock: FakeClock, durations: list[float], engine: str) -> None:
    """Enqueue and run one 4-second job per duration, as the one worker."""
    for duration in durations:
        runtime.database.enqueue(spec())
        lease = claim(runtime)
        clock.advance(duration)
        runtime.queue.complete(lease, OUTPUTS, engine)


def measured_history(runtime: Runtime, clock: FakeClock) -> None:
    run_jobs(runtime, clock, [10, 14, 12], "testcard")


def at(clock: FakeClock, seconds: float) -> datetime:
    return clock() + timedelta(seconds=seconds)


def test_throughput_is_the_median_of_recent_jobs_per_engine_and_model(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    assert estimator.throughput() == {}
    measured_history(runtime, clock)
    run_jobs(runtime, clock, [40], "diffusers")
    assert estimator.throughput() == {("testcard", "sora-2"): 3.0, ("diffusers", "sora-2"): 10.0}


def test_positions_count_down_and_etas_follow_measured_throughput(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    measured_history(runtime, clock)
    queued: list[Job] = []
    for _ in range(5):
        queued.append(runtime.database.enqueue(spec()))
        clock.advance(1)

    # Nothing runs: the jobs start one after another, 12 s apart.
    for index, job in enumerate(queued):
        start = at(clock, index * EXPECTED_JOB_SECONDS)
        assert estimator.estimate(job) == Estimate(
            index, start, start + timedelta(seconds=EXPECTED_JOB_SECONDS)
        )

    # The one worker takes them in order (positions 0 = next); halfway through each, positions
    # have moved up by one.
    while queued:
        running, *queued = queued
        lease = claim(runtime)
        assert lease.job_id == running.id
        clock.advance(6)
        runtime.queue.record_progress(lease, 0.5, "denoising")
        # 6 s elapsed at 50 %: both its own pace and the measured 12 s leave 6 s to go.
        current = runtime.store.get_job(running.id)
        assert estimator.estimate(current) == Estimate(None, None, at(clock, 6))
        for index, job in enumerate(queued):
            start = at(clock, 6 + index * EXPECTED_JOB_SECONDS)
            assert estimator.estimate(job) == Estimate(
                index, start, start + timedelta(seconds=EXPECTED_JOB_SECONDS)
            )
        clock.advance(6)
        done = runtime.queue.complete(lease, OUTPUTS, "testcard")
        assert estimator.estimate(done) == NO_ESTIMATE


def test_estimated_starts_match_actual_starts_within_tolerance(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    """Real jobs vary around the median; the estimate made at enqueue must still be close.

    Tolerance: 10 % of the wait (plus 1 s), far above the 4 % the durations below cause."""
    measured_history(runtime, clock)
    jobs = [runtime.database.enqueue(spec()) for _ in range(5)]
    enqueued_at = clock()
    predicted = {job.id: estimator.estimate(job).estimated_start_at for job in jobs}
    actual: dict[str, datetime] = {}
    for duration in [11, 13, 12, 14, 10]:
        lease = claim(runtime)
        actual[lease.job_id] = clock()
        clock.advance(duration)
        runtime.queue.complete(lease, OUTPUTS, "testcard")
    for job in jobs:
        guess, real = predicted[job.id], actual[job.id]
        assert guess is not None
        wait = (real - enqueued_at).total_seconds()
        error = abs((guess - real).total_seconds())
        assert error <= 0.10 * wait + 1.0, (guess, real)


def test_without_measurements_there_is_a_position_but_no_times(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    first = runtime.database.enqueue(spec())
    second = runtime.database.enqueue(spec())
    assert estimator.estimate(first).queue_position in (0, 1)
    lease = claim(runtime)
    waiting = second if lease.job_id == first.id else first
    assert estimator.estimate(waiting) == Estimate(0, None, None)
    # Once the running job reports progress, its own pace is a measurement.
    clock.advance(5)
    runtime.queue.record_progress(lease, 0.25)
    running = runtime.store.get_job(lease.job_id)
    assert estimator.estimate(running) == Estimate(None, None, at(clock, 15))
    # The waiting job's start is known now, its own duration is not.
    assert estimator.estimate(waiting) == Estimate(0, at(clock, 15), None)


def test_another_engines_measurements_do_not_count(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    run_jobs(runtime, clock, [100], "diffusers")  # settings.engine is testcard
    job = runtime.database.enqueue(spec())
    assert estimator.estimate(job) == Estimate(0, at(clock, 0), None)


def test_a_running_jobs_remaining_time_blends_its_pace_and_the_measured_figure(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    measured_history(runtime, clock)
    runtime.database.enqueue(spec())
    lease = claim(runtime)
    clock.advance(10)
    runtime.queue.record_progress(lease, 0.5)
    # Its pace says 10 s more, the measured 12 s say 2 s more: weighted 50/50, 6 s.
    assert estimator.estimate(runtime.store.get_job(lease.job_id)) == Estimate(
        None, None, at(clock, 6)
    )
    clock.advance(30)  # far past the measured figure, with no progress since: pace says 40 s
    runtime.queue.record_progress(lease, 0.5)
    assert estimator.estimate(runtime.store.get_job(lease.job_id)) == Estimate(
        None, None, at(clock, 20)
    )


def test_throughput_is_cached_for_cache_seconds(runtime: Runtime, clock: FakeClock) -> None:
    estimator = QueueEstimator(runtime, clock=clock, cache_seconds=2.0)
    measured_history(runtime, clock)
    assert estimator.throughput() == {("testcard", "sora-2"): 3.0}
    runtime.database.enqueue(spec())
    lease = claim(runtime)
    runtime.queue.complete(lease, OUTPUTS, "diffusers")  # instantly: a new (engine, model)
    assert estimator.throughput() == {("testcard", "sora-2"): 3.0}
    clock.advance(2)
    assert ("diffusers", "sora-2") in estimator.throughput()


def test_wait_for_a_new_job_covers_running_and_queued_work(
    runtime: Runtime, clock: FakeClock, estimator: QueueEstimator
) -> None:
    assert estimator.wait_for_new_job() == 0.0  # nothing queued, nothing running
    measured_history(runtime, clock)
    for _ in range(3):
        runtime.database.enqueue(spec())
    lease = claim(runtime)
    clock.advance(3)
    runtime.queue.record_progress(lease, 0.25)
    assert estimator.wait_for_new_job() == 9.0 + 2 * EXPECTED_JOB_SECONDS


@pytest.mark.parametrize(
    ("slots", "work", "start"),
    [
        ([], 7.0, 7.0),  # no running job: one slot, free now
        ([5.0], 0.0, 5.0),
        ([5.0], 12.0, 17.0),
        ([5.0, 20.0], 0.0, 5.0),  # the first slot to free takes the job
        ([5.0, 20.0], 10.0, 15.0),  # the first slot alone clears the work before 20 s
        ([5.0, 20.0], 40.0, 32.5),  # both slots share what is left after 20 s
        ([20.0, 5.0], 40.0, 32.5),  # order does not matter
    ],
)
def test_fill_slots(slots: list[float], work: float, start: float) -> None:
    assert fill_slots(slots, work) == pytest.approx(start)
