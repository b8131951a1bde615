"""The heartbeat's progress writes: coalesced (only when changed), with the stage, never
backwards, and they relay a cancel; a worker's runs move the job's progress and stage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.specs import GenerationSpec
from reelforge.store.queue import WorkQueue
from reelforge.worker.control import RunControl
from reelforge.worker.heartbeat import Heartbeat
from tests.support.settings import SettingsFactory


@pytest.fixture
def runtime(make_settings: SettingsFactory) -> Iterator[Runtime]:
    rt = Runtime.open(make_settings())
    yield rt
    rt.close()


class CountingQueue:
    """The real queue, counting the progress writes that reach the database."""

    def __init__(self, inner: WorkQueue) -> None:
        self.inner = inner
        self.writes = 0

    def record_progress(self, *args: object, **kwargs: object) -> bool:
        self.writes += 1
        return self.inner.record_progress(*args, **kwargs)  # type: ignore[arg-type]


def running(runtime: Runtime) -> tuple[Heartbeat, RunControl, CountingQueue]:
    runtime.database.enqueue(GenerationSpec.build("a kite", seconds=4, seed=1))
    lease = runtime.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    queue = CountingQueue(runtime.queue)
    heartbeat = Heartbeat(queue, 5.0, 30.0)  # type: ignore[arg-type]
    run = RunControl(lease, runtime.store.is_cancel_requested)
    heartbeat.track(run)
    return heartbeat, run, queue


def test_progress_is_written_only_when_it_changed(runtime: Runtime) -> None:
    heartbeat, run, queue = running(runtime)
    run.set_progress(0.25)
    heartbeat.flush_progress()
    heartbeat.flush_progress()  # nothing new: no write
    assert queue.writes == 1
    job = runtime.store.get_job(run.job_id)
    assert job.progress == pytest.approx(0.25) and job.stage == "loading"
    run.set_stage("encoding")
    heartbeat.flush_progress()
    assert queue.writes == 2
    assert runtime.store.get_job(run.job_id).stage == "encoding"


def test_a_cancel_read_with_the_progress_write_reaches_the_run(runtime: Runtime) -> None:
    heartbeat, run, _ = running(runtime)
    runtime.store.request_cancel(run.job_id)
    run.set_progress(0.5)
    heartbeat.flush_progress()
    with pytest.raises(Exception, match="cancelled"):
        run.check()


def test_a_stale_heartbeat_never_moves_progress_backwards(runtime: Runtime) -> None:
    _, run, _ = running(runtime)
    runtime.queue.record_progress(run.lease, 0.6, "denoising")
    runtime.queue.heartbeat(run.lease, 0.4, lease_seconds=30, stage="denoising")
    assert runtime.store.get_job(run.job_id).progress == pytest.approx(0.6)


def test_stage_follows_the_engines_steps_even_while_frames_are_encoded(runtime: Runtime) -> None:
    _, run, _ = running(runtime)
    assert run.stage == "loading"
    run.step(1, 10)
    assert run.stage == "denoising"
    run.set_stage("encoding")  # the executor starts muxing while a lazy engine still steps
    run.step(2, 10)
    assert run.stage == "denoising"
    run.step(10, 10)
    assert run.stage == "encoding"
