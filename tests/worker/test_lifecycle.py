"""The job lifecycle, run identically on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.errors import JobNotFound, LeaseLost
from reelforge.domain.jobs import JobOutputs, Lease, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.worker import Worker, runner
from reelforge.worker.control import RunControl
from tests.support.clock import FakeClock
from tests.support.engines import GatedEngine
from tests.support.settings import SettingsFactory
from tests.support.wait import wait_for


def spec(prompt: str = "a red kite over a park", seconds: int = 4) -> GenerationSpec:
    return GenerationSpec.build(prompt, seconds=seconds, seed=7)


@pytest.fixture
def runtime(make_settings: SettingsFactory) -> Iterator[Runtime]:
    rt = Runtime.open(make_settings())
    yield rt
    rt.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def frozen_runtime(make_settings: SettingsFactory, clock: FakeClock) -> Iterator[Runtime]:
    """A runtime whose leases expire only when the test advances ``clock``."""
    rt = Runtime.open(make_settings(), clock=clock)
    yield rt
    rt.close()


def test_new_job_is_queued_with_its_spec(runtime: Runtime) -> None:
    job = runtime.database.enqueue(spec(), owner="key_1")
    assert job.status is Status.QUEUED
    assert (job.spec.width, job.spec.height, job.spec.seconds, job.spec.seed) == (1280, 720, 4, 7)
    assert job.attempts == 0 and job.progress == 0.0 and job.outputs is None
    assert job.created_at.tzinfo is not None
    assert runtime.store.queue_depth() == 1


def test_owner_filter_hides_other_tenants_jobs(runtime: Runtime) -> None:
    job = runtime.database.enqueue(spec(), owner="key_1")
    assert runtime.store.get_job(job.id, owner="key_1").id == job.id
    with pytest.raises(JobNotFound):
        runtime.store.get_job(job.id, owner="key_2")


def test_claim_takes_the_oldest_queued_job_with_a_lease(runtime: Runtime) -> None:
    first = runtime.database.enqueue(spec("first"))
    runtime.database.enqueue(spec("second"))
    lease = runtime.queue.claim("w1", lease_seconds=30)
    assert lease is not None and lease.job_id == first.id and lease.attempt == 1
    job = runtime.store.get_job(first.id)
    assert job.status is Status.RUNNING
    assert job.lease_owner == "w1" and job.lease_token == lease.token
    assert job.lease_expires_at is not None and job.started_at is not None


def test_claim_on_an_empty_queue_returns_none(runtime: Runtime) -> None:
    assert runtime.queue.claim("w1", lease_seconds=30) is None


def test_concurrent_claims_never_hand_out_a_job_twice(runtime: Runtime) -> None:
    created = {runtime.database.enqueue(spec(f"job {i}")).id for i in range(24)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        while (lease := runtime.queue.claim(worker, lease_seconds=30)) is not None:
            with lock:
                claimed.append(lease.job_id)

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(created)


def test_worker_completes_a_job_with_outputs(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    rt = Runtime.open(settings)
    job = rt.database.enqueue(spec())
    assert Worker(rt).run_until_idle() == 1
    done = rt.store.get_job(job.id)
    assert done.status is Status.COMPLETED, done.error_message
    assert done.progress == 1.0 and done.engine == "testcard"
    assert done.outputs is not None
    for key in (done.outputs.video, done.outputs.thumbnail, done.outputs.spritesheet):
        assert rt.blobs.size(key) > 0
    assert done.lease_token is None and done.completed_at is not None
    assert [a.outcome for a in rt.store.attempts(job.id)] == ["completed"]
    rt.close()


def test_cancel_of_a_queued_job_ends_it_without_running(runtime: Runtime) -> None:
    job = runtime.database.enqueue(spec())
    cancelled = runtime.store.request_cancel(job.id)
    assert cancelled.status is Status.CANCELLED
    assert runtime.queue.claim("w1", lease_seconds=30) is None


def test_cancel_of_a_running_job_stops_the_engine_within_one_step(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    rt = Runtime.open(settings)
    engine = GatedEngine(steps=50, gate_at=3)
    worker = Worker(rt, engine=engine)
    job = rt.database.enqueue(spec())
    worker.start()
    try:
        assert engine.reached_gate.wait(20)
        rt.store.request_cancel(job.id)
        steps_at_cancel = len(engine.steps_started)
        engine.gate.set()
        wait_for(lambda: rt.store.get_job(job.id).status.is_terminal, timeout=20)
    finally:
        worker.stop(grace=5)
    final = rt.store.get_job(job.id)
    assert final.status is Status.CANCELLED
    assert len(engine.steps_started) - steps_at_cancel <= 1
    assert final.outputs is None
    assert list(rt.blobs.list_prefix(f"jobs/{job.id}")) == []
    assert [a.outcome for a in rt.store.attempts(job.id)] == ["cancelled"]
    rt.close()


def test_zombie_worker_cannot_overwrite_the_new_owners_result(
    frozen_runtime: Runtime, clock: FakeClock
) -> None:
    runtime = frozen_runtime
    job = runtime.database.enqueue(spec())
    zombie = runtime.queue.claim("zombie", lease_seconds=30)
    assert zombie is not None
    clock.advance(29)
    assert runtime.queue.sweep_expired(max_attempts=3).requeued == []  # the lease still holds
    clock.advance(2)  # the zombie is "paused" past its lease
    assert runtime.queue.sweep_expired(max_attempts=3).requeued == [job.id]
    owner = runtime.queue.claim("owner", lease_seconds=30)
    assert owner is not None and owner.job_id == job.id and owner.attempt == 2
    winner = JobOutputs("jobs/x/owner/video.mp4", "jobs/x/owner/t.webp", "jobs/x/owner/s.jpg")
    runtime.queue.complete(owner, winner, "testcard")
    stale = JobOutputs("jobs/x/zombie/video.mp4", "jobs/x/zombie/t.webp", "jobs/x/zombie/s.jpg")
    with pytest.raises(LeaseLost):
        runtime.queue.complete(zombie, stale, "testcard")
    with pytest.raises(LeaseLost):
        runtime.queue.fail(zombie, "engine_error", "late failure")
    with pytest.raises(LeaseLost):
        runtime.queue.heartbeat(zombie, 0.5, lease_seconds=30)
    final = runtime.store.get_job(job.id)
    assert final.status is Status.COMPLETED and final.outputs == winner
    assert [a.outcome for a in runtime.store.attempts(job.id)] == ["lost", "completed"]


def test_sweeper_fails_a_job_after_max_attempts(frozen_runtime: Runtime, clock: FakeClock) -> None:
    runtime = frozen_runtime
    job = runtime.database.enqueue(spec())
    for attempt in range(1, 3):
        lease = runtime.queue.claim("crashy", lease_seconds=30)
        assert lease is not None and lease.attempt == attempt
        clock.advance(31)  # the crashed worker never renews its lease
        result = runtime.queue.sweep_expired(max_attempts=2)
    assert result.failed == [job.id]
    failed = runtime.store.get_job(job.id)
    assert failed.status is Status.FAILED and failed.error_code == "too_many_attempts"
    assert "max_attempts=2" in (failed.error_message or "")
    assert failed.lease_token is None


def test_graceful_stop_releases_a_running_job_to_the_queue(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    rt = Runtime.open(settings)
    engine = GatedEngine(steps=10, gate_at=2)
    worker = Worker(rt, engine=engine)
    job = rt.database.enqueue(spec())
    worker.start()
    assert engine.reached_gate.wait(20)
    stopper = threading.Thread(target=worker.stop, kwargs={"grace": 0.3})
    stopper.start()
    # The job outlives the grace period: the stopper releases it, then the engine moves on.
    wait_for(lambda: any(run.released for run in worker.heartbeat.runs()), timeout=20)
    engine.gate.set()
    stopper.join(20)
    released = rt.store.get_job(job.id)
    assert released.status is Status.QUEUED
    assert released.attempts == 0 and released.lease_token is None
    assert [a.outcome for a in rt.store.attempts(job.id)] == ["released"]
    rt.close()


def test_a_released_job_is_claimed_again_as_a_new_attempt(runtime: Runtime) -> None:
    job = runtime.database.enqueue(spec())
    first = runtime.queue.claim("w1", lease_seconds=30)
    assert first is not None
    runtime.queue.release(first)
    second = runtime.queue.claim("w2", lease_seconds=30)
    assert second is not None and second.job_id == job.id and second.attempt == 1
    attempts = runtime.store.attempts(job.id)
    assert [(a.attempt, a.worker, a.outcome) for a in attempts] == [
        (1, "w1", "released"),
        (2, "w2", None),
    ]


def test_engine_error_fails_the_job_with_its_code(make_settings: SettingsFactory) -> None:
    from reelforge.domain.errors import EngineError

    class Broken(GatedEngine):
        def generate(self, request, control):  # type: ignore[no-untyped-def]
            raise EngineError("the model produced NaNs; try another seed")

    settings = make_settings()
    rt = Runtime.open(settings)
    job = rt.database.enqueue(spec())
    Worker(rt, engine=Broken()).run_until_idle()
    failed = rt.store.get_job(job.id)
    assert failed.status is Status.FAILED
    assert failed.error_code == "engine_error"
    assert failed.error_message == "the model produced NaNs; try another seed"
    rt.close()


def test_worker_whose_engine_cannot_load_claims_nothing(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reelforge.domain.errors import EngineLoadError

    class Unloadable(GatedEngine):
        loads = 0

        def load(self) -> None:
            self.loads += 1
            raise EngineLoadError(
                "model directory /models/ltx2 is missing; run reelforge models pull"
            )

    monkeypatch.setattr(runner, "ENGINE_RETRY_SECONDS", 0.05)
    settings = make_settings()
    rt = Runtime.open(settings)
    job = rt.database.enqueue(spec())
    engine = Unloadable()
    worker = Worker(rt, engine=engine)
    worker.start()
    # Each retry means the slot went round its loop without claiming the waiting job.
    wait_for(lambda: engine.loads >= 3, timeout=20)
    worker.stop(grace=1)
    assert not worker.ready
    assert "models pull" in (worker.engine_error or "")
    assert rt.store.get_job(job.id).status is Status.QUEUED
    assert rt.store.attempts(job.id) == []
    rt.close()


def test_list_pagination_is_stable_in_both_orders(runtime: Runtime) -> None:
    ids = [runtime.database.enqueue(spec(f"p{i}"), owner="k").id for i in range(5)]
    runtime.database.enqueue(spec("other tenant"), owner="other")
    page1 = runtime.store.list_jobs("k", limit=2, order="asc")
    page2 = runtime.store.list_jobs("k", limit=2, order="asc", after=page1[-1].id)
    page3 = runtime.store.list_jobs("k", limit=2, order="asc", after=page2[-1].id)
    assert [j.id for j in page1 + page2 + page3] == ids
    desc = runtime.store.list_jobs("k", limit=10, order="desc")
    assert [j.id for j in desc] == ids[::-1]


def test_enqueue_wakes_an_idle_worker_quickly(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # poll_seconds is long, so only the wake-up path can make this fast.
    settings = make_settings(poll_seconds=30.0)
    rt = Runtime.open(settings)
    idle = threading.Event()
    wait_for_work = rt.signals.wait_for_work

    def waiting(mark: int, timeout: float) -> bool:
        idle.set()
        return wait_for_work(mark, timeout)

    monkeypatch.setattr(rt.signals, "wait_for_work", waiting)
    engine = GatedEngine(steps=1, gate_at=0)
    worker = Worker(rt, engine=engine)
    worker.start()
    try:
        assert idle.wait(20)  # the slot found nothing and is waiting for work
        job = rt.database.enqueue(spec())
        assert engine.reached_gate.wait(5)
        rt.store.request_cancel(job.id)  # end it without rendering a video
    finally:
        engine.gate.set()
        worker.stop(grace=5)
        rt.close()


def test_a_job_deleted_between_claim_and_start_does_not_stop_the_worker(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    rt = Runtime.open(settings)
    worker = Worker(rt)
    gone = rt.database.enqueue(spec("deleted at once"))
    lease = rt.queue.claim("w1", lease_seconds=30)
    assert lease is not None and lease.job_id == gone.id
    rt.store.delete_job(gone.id)
    worker.executor.run(lease, worker_control(rt, lease))
    survivor = rt.database.enqueue(spec("still served"))
    assert worker.run_until_idle() == 1
    assert rt.store.get_job(survivor.id).status is Status.COMPLETED
    rt.close()


def worker_control(rt: Runtime, lease: Lease) -> RunControl:
    return RunControl(lease, rt.store.is_cancel_requested)
