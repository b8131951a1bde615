"""Usage accounting through real workers on the testcard engine: after a mixed run (completed,
failed and cancelled videos of two keys and the command line) each owner's ledger delivers
exactly the seconds of its completed videos, failed and cancelled ones deliver nothing but keep
the compute they used, and the ledger's compute is the sum of the jobs'."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineError
from reelforge.domain.jobs import Job, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, JobControl, VideoClip
from reelforge.engines.testcard import TestcardEngine
from reelforge.worker import Worker
from tests.support.settings import SettingsFactory
from tests.support.wait import wait_for


class ScriptedTestcard:
    """The real testcard engine, steered by the prompt: ``fail`` fails with an engine error at
    its fifth frame; ``hold`` waits at its third frame until ``resume`` is set (so a test can
    cancel it while it runs); anything else renders normally."""

    name = "testcard"

    def __init__(self) -> None:
        self.inner = TestcardEngine()
        self.holding = threading.Event()
        self.resume = threading.Event()

    def load(self) -> None:
        self.inner.load()

    def describe(self) -> dict[str, str]:
        return self.inner.describe()

    def generate(self, request: EngineRequest, control: JobControl) -> VideoClip:
        return self.inner.generate(request, _Scripted(self, control, request.spec.prompt))


class _Scripted:
    def __init__(self, engine: ScriptedTestcard, inner: JobControl, prompt: str) -> None:
        self.engine = engine
        self.inner = inner
        self.prompt = prompt

    def step(self, done: float, total: float, stage: str = "") -> None:
        if "fail" in self.prompt and done == 5:
            raise EngineError("the model produced NaNs; try another seed")
        if "hold" in self.prompt and done == 3:
            self.engine.holding.set()
            self.engine.resume.wait(30)
        self.inner.step(done, total, stage)

    def log(self, message: str) -> None:
        self.inner.log(message)


@pytest.fixture
def runtime(make_settings: SettingsFactory) -> Iterator[Runtime]:
    rt = Runtime.open(make_settings())
    yield rt
    rt.close()


def spec(prompt: str, seconds: int) -> GenerationSpec:
    return GenerationSpec.build(prompt, seconds=seconds, seed=3)


def test_a_mixed_run_delivers_completed_seconds_and_records_every_attempts_compute(
    runtime: Runtime,
) -> None:
    alpha = runtime.keys.create("alpha").key.id
    beta = runtime.keys.create("beta").key.id
    enqueue = runtime.database.enqueue
    jobs = {
        "alpha ok 4": enqueue(spec("a kite, ok", 4), alpha),
        "alpha ok 8": enqueue(spec("a boat, ok", 8), alpha),
        "alpha fails": enqueue(spec("a storm, fail", 4), alpha),
        "alpha queued cancel": enqueue(spec("a bird, never run", 8), alpha),
        "beta ok 4": enqueue(spec("a train, ok", 4), beta),
        "beta running cancel": enqueue(spec("a river, hold", 8), beta),
        "local ok 4": enqueue(spec("a tree, ok", 4), None),
    }
    runtime.store.request_cancel(jobs["alpha queued cancel"].id)

    engine = ScriptedTestcard()
    worker = Worker(runtime, engine=engine)
    worker.start()
    try:
        assert engine.holding.wait(120)
        runtime.store.request_cancel(jobs["beta running cancel"].id)
        engine.resume.set()
        wait_for(lambda: all(job.status.is_terminal for job in final(runtime, jobs)), timeout=120)
    finally:
        engine.resume.set()
        worker.stop(grace=5)

    ended = {name: runtime.store.get_job(job.id) for name, job in jobs.items()}
    assert {name: job.status for name, job in ended.items()} == {
        "alpha ok 4": Status.COMPLETED,
        "alpha ok 8": Status.COMPLETED,
        "alpha fails": Status.FAILED,
        "alpha queued cancel": Status.CANCELLED,
        "beta ok 4": Status.COMPLETED,
        "beta running cancel": Status.CANCELLED,
        "local ok 4": Status.COMPLETED,
    }
    assert ended["alpha fails"].error_code == "engine_error"
    # Every job that ran spent compute; the one cancelled while queued spent none.
    for name, job in ended.items():
        if name == "alpha queued cancel":
            assert job.compute_seconds == 0.0
        else:
            assert job.compute_seconds > 0, name

    rows = runtime.database.usage.daily(None, "2000-01-01", "2999-12-31")
    for owner in (alpha, beta, ""):
        mine = [row for row in rows if row.owner == owner]
        owned = [job for job in ended.values() if (job.owner or "") == owner]
        delivered = sum(job.spec.seconds for job in owned if job.status is Status.COMPLETED)
        assert sum(row.video_seconds_delivered for row in mine) == delivered
        # Nothing is queued or running any more: committed is exactly what was delivered.
        assert sum(row.video_seconds_committed for row in mine) == delivered
        assert sum(row.compute_seconds for row in mine) == pytest.approx(
            sum(job.compute_seconds for job in owned)
        )
        outcomes = [sum(getattr(row, name) for row in mine) for name in OUTCOMES]
        assert outcomes == [
            len(owned),
            *(sum(job.status is status for job in owned) for status in ENDED),
        ]
    assert sum(row.video_seconds_delivered for row in rows if row.owner == alpha) == 12
    assert sum(row.cancelled for row in rows if row.owner == beta) == 1


OUTCOMES = ("jobs", "completed", "failed", "cancelled")
ENDED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


def final(runtime: Runtime, jobs: dict[str, Job]) -> list[Job]:
    return [runtime.store.get_job(job.id) for job in jobs.values()]
