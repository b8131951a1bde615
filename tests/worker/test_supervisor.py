"""WorkerSupervisor: a real worker child process (spawned) on a real database.

The relay tests set polls and heartbeats far longer than their timeouts, so only the pipe
between the two processes can make them pass quickly enough.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineLoadError
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.worker import WorkerSupervisor
from reelforge.worker.supervisor import RestartBackoff, describe_exit
from tests.support.engines import FAST_FAILOVER, SLOW_ENGINE, SlowTestcard
from tests.support.settings import SettingsFactory
from tests.support.wait import wait_for

BROKEN_ENGINE = "tests.worker.test_supervisor:create_broken"


class BrokenEngine(SlowTestcard):
    """Fails to load, as a real engine does without its model files."""

    def load(self) -> None:
        raise EngineLoadError("model directory /nowhere does not exist")


def create_broken(settings: Settings) -> BrokenEngine:
    return BrokenEngine(settings)


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    opened: list[Runtime] = []
    yield opened
    for runtime in opened:
        runtime.close()


@pytest.fixture
def supervisors() -> Iterator[list[WorkerSupervisor]]:
    started: list[WorkerSupervisor] = []
    yield started
    for supervisor in started:
        supervisor.stop()


def supervise(
    settings: Settings, runtimes: list[Runtime], supervisors: list[WorkerSupervisor]
) -> tuple[Runtime, WorkerSupervisor]:
    runtime = Runtime.open(settings)
    runtimes.append(runtime)
    supervisor = WorkerSupervisor(settings, runtime.signals)
    supervisors.append(supervisor)
    supervisor.start()
    return runtime, supervisor


def job_spec(prompt: str = "a lighthouse at dusk") -> GenerationSpec:
    return GenerationSpec.build(prompt, seconds=4, seed=3)


def test_enqueue_and_events_cross_the_pipe_at_once(
    make_settings: SettingsFactory,
    runtimes: list[Runtime],
    supervisors: list[WorkerSupervisor],
) -> None:
    settings = make_settings(
        engine=SLOW_ENGINE,
        engine_options={"step_delay": 0.05},
        poll_seconds=60.0,  # an idle child finds new work only through the relay
        sweep_seconds=60.0,
    )
    runtime, supervisor = supervise(settings, runtimes, supervisors)
    # The child looks at the (empty) queue right after its engine loads, before it says so;
    # from then on it sleeps for 60 s unless woken.
    wait_for(lambda: supervisor.ready, timeout=60)
    assert supervisor.engine_error is None and supervisor.pid is not None

    job = runtime.database.enqueue(job_spec())
    events = runtime.signals.events_mark()  # after the enqueue's own event, recorded here
    wait_for(lambda: runtime.store.get_job(job.id).status is Status.RUNNING, timeout=15)
    # The child's "started" event woke this process's Signals (SQLite has no NOTIFY).
    assert runtime.signals.wait_for_events(events, timeout=15)
    runtime.store.request_cancel(job.id)  # relayed too (and polled by the child: belt and braces)
    wait_for(lambda: runtime.store.get_job(job.id).status is Status.CANCELLED, timeout=15)


def test_a_killed_child_is_restarted_and_its_job_retried(
    make_settings: SettingsFactory,
    runtimes: list[Runtime],
    supervisors: list[WorkerSupervisor],
) -> None:
    settings = make_settings(
        **FAST_FAILOVER,
    )
    runtime, supervisor = supervise(settings, runtimes, supervisors)
    job = runtime.database.enqueue(job_spec())
    wait_for(lambda: runtime.store.get_job(job.id).progress > 0.1, timeout=60)
    first_pid = supervisor.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)

    def restarted() -> bool:
        return supervisor.pid not in (None, first_pid) and supervisor.ready

    wait_for(restarted, timeout=60)
    assert supervisor.restarts == 1
    wait_for(lambda: runtime.store.get_job(job.id).status.is_terminal, timeout=120)
    done = runtime.store.get_job(job.id)
    assert done.status is Status.COMPLETED, done.error_message
    assert [a.outcome for a in runtime.store.attempts(job.id)] == ["lost", "completed"]


def test_stop_lets_the_child_release_its_job_and_exit(
    sqlite_settings: Settings,
    runtimes: list[Runtime],
    supervisors: list[WorkerSupervisor],
) -> None:
    settings = sqlite_settings.model_copy(
        update={
            "engine": SLOW_ENGINE,
            "engine_options": {"step_delay": 0.2},  # far longer than the grace
            "shutdown_grace_seconds": 0.5,
        }
    )
    runtime, supervisor = supervise(settings, runtimes, supervisors)
    job = runtime.database.enqueue(job_spec())
    wait_for(lambda: runtime.store.get_job(job.id).status is Status.RUNNING, timeout=60)
    pid = supervisor.pid
    supervisor.stop()
    assert supervisor.pid is None
    assert not Path(f"/proc/{pid}").exists()  # exited and reaped
    released = runtime.store.get_job(job.id)
    assert released.status is Status.QUEUED and released.attempts == 0
    assert [a.outcome for a in runtime.store.attempts(job.id)] == ["released"]


def test_an_engine_that_cannot_load_is_reported_by_the_supervisor(
    sqlite_settings: Settings,
    runtimes: list[Runtime],
    supervisors: list[WorkerSupervisor],
) -> None:
    settings = sqlite_settings.model_copy(update={"engine": BROKEN_ENGINE})
    _runtime, supervisor = supervise(settings, runtimes, supervisors)
    error = wait_for(lambda: supervisor.engine_error, timeout=60)
    assert error is not None and "model directory /nowhere does not exist" in error
    assert not supervisor.ready
    assert supervisor.restarts == 0  # a failed load is not a crash: the child keeps retrying


def test_restart_delays_double_up_to_a_minute_and_reset_after_a_long_run() -> None:
    backoff = RestartBackoff()
    delays = [backoff.delay_after(ran_seconds=1.0) for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert backoff.delay_after(ran_seconds=60.0) == 1.0
    assert backoff.delay_after(ran_seconds=5.0) == 2.0


def test_exit_descriptions_name_the_signal() -> None:
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe_exit(3) == "exited with code 3"
    assert "SIGTERM" in describe_exit(0)
