"""Crash safety with real worker processes: SIGKILL mid-job, and a worker paused past its lease."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from tests.support.engines import FAST_FAILOVER, SLOW_ENGINE
from tests.support.settings import SettingsFactory, subprocess_env
from tests.support.wait import wait_for


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "reelforge.cli", "worker"],
        env=subprocess_env(settings),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for proc in running:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(10)


def test_sigkill_mid_job_completes_exactly_once(
    make_settings: SettingsFactory, procs: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    settings = make_settings(
        **FAST_FAILOVER,
    )
    rt = Runtime.open(settings)
    job = rt.database.enqueue(GenerationSpec.build("a lighthouse at dusk", seconds=4, seed=3))

    def mid_job() -> bool:
        return rt.store.get_job(job.id).progress > 0.1

    def finished() -> bool:
        return rt.store.get_job(job.id).status.is_terminal

    first = start_worker(settings, tmp_path / "worker1.log")
    procs.append(first)
    wait_for(mid_job, timeout=60)
    first.kill()  # SIGKILL: no cleanup, the lease is simply left to expire
    first.wait(10)
    assert rt.store.get_job(job.id).status is Status.RUNNING

    second = start_worker(settings, tmp_path / "worker2.log")
    procs.append(second)
    wait_for(finished, timeout=120)
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0

    done = rt.store.get_job(job.id)
    assert done.status is Status.COMPLETED, done.error_message
    assert done.attempts == 2
    attempts = rt.store.attempts(job.id)
    assert [a.outcome for a in attempts] == ["lost", "completed"]
    assert attempts[0].lease_token != attempts[1].lease_token
    # One set of outputs: only the winning attempt's files exist.
    assert done.outputs is not None and done.lease_token is None
    keys = sorted(rt.blobs.list_prefix(f"jobs/{job.id}"))
    winner = f"jobs/{job.id}/{attempts[1].lease_token}"
    assert keys == sorted([done.outputs.video, done.outputs.thumbnail, done.outputs.spritesheet])
    assert all(key.startswith(winner) for key in keys)
    # Nothing left running or leased.
    counts = rt.store.count_by_status()
    assert counts[Status.RUNNING] == 0 and counts[Status.QUEUED] == 0
    rt.close()


def test_paused_worker_cannot_overwrite_the_new_owners_result(
    sqlite_settings: Settings, procs: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    settings = sqlite_settings.model_copy(
        update={
            "engine": SLOW_ENGINE,
            "engine_options": {"step_delay": 0.02},
            "lease_seconds": 1.5,
            "heartbeat_seconds": 0.3,
            "sweep_seconds": 0.3,
        }
    )
    rt = Runtime.open(settings)
    job = rt.database.enqueue(GenerationSpec.build("a paper boat on a pond", seconds=4, seed=9))

    zombie_log = tmp_path / "zombie.log"

    def zombie_mid_job() -> bool:
        return rt.store.get_job(job.id).progress > 0.2

    def new_owner_finished() -> bool:
        return rt.store.get_job(job.id).status.is_terminal

    def zombie_discarded_its_attempt() -> bool:
        gave_up = "discarding this attempt's output" in zombie_log.read_text()
        prefix = f"jobs/{job.id}/{zombie_token}"
        return gave_up and not any(k.startswith(prefix) for k in rt.blobs.list_prefix(prefix))

    zombie = start_worker(settings, zombie_log)
    procs.append(zombie)
    wait_for(zombie_mid_job, timeout=60)
    zombie.send_signal(signal.SIGSTOP)  # paused: no heartbeats, lease expires
    zombie_token = rt.store.get_job(job.id).lease_token

    owner = start_worker(settings, tmp_path / "owner.log")
    procs.append(owner)
    wait_for(new_owner_finished, timeout=120)
    result = rt.store.get_job(job.id)
    assert result.status is Status.COMPLETED

    zombie.send_signal(signal.SIGCONT)  # it wakes up believing it still owns the job
    wait_for(zombie_discarded_its_attempt, timeout=60)
    for proc in (zombie, owner):
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    final = rt.store.get_job(job.id)
    assert final.outputs == result.outputs and final.completed_at == result.completed_at
    assert final.lease_token is None and final.status is Status.COMPLETED
    assert [a.outcome for a in rt.store.attempts(job.id)] == ["lost", "completed"]
    assert "lease lost" in zombie_log.read_text()
    rt.close()
