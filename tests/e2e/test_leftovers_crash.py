"""Worker processes SIGKILLed mid-render leave their render directories behind; the sweeper
of the next worker removes every one of them once the attempts are swept as lost, and the job
still completes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.worker.leftovers import parse
from tests.support.engines import FAST_FAILOVER
from tests.support.settings import SettingsFactory, subprocess_env
from tests.support.wait import wait_for

KILLS = 3


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for proc in running:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _dirs(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.is_dir()] if root.exists() else []


def test_render_directories_of_killed_workers_are_swept(
    make_settings: SettingsFactory, procs: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    settings = make_settings(**FAST_FAILOVER, max_attempts=KILLS + 1)
    tmp = settings.data_dir / "tmp"
    runtime = Runtime.open(settings)
    job = runtime.database.enqueue(GenerationSpec.build("a kite over dunes", seconds=4, seed=5))

    def start_worker(name: str) -> subprocess.Popen[bytes]:
        env = subprocess_env(settings, REELFORGE_MAX_ATTEMPTS=str(KILLS + 1))
        proc = subprocess.Popen(
            [sys.executable, "-m", "reelforge.cli", "worker"],
            env=env,
            stdout=(tmp_path / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    killed: list[str] = []

    def new_attempt_rendering() -> str:
        """The lease of a new attempt mid-render, once its directory exists ("" until then)."""
        current = runtime.store.get_job(job.id)
        token = current.lease_token
        if current.progress <= 0.1 or token is None or token in killed:
            return ""
        tokens = {found.lease_token for found in map(parse, _dirs(tmp)) if found}
        return token if token in tokens else ""

    try:
        for number in range(KILLS):
            proc = start_worker(f"killed{number}")
            killed.append(wait_for(new_attempt_rendering, timeout=120))
            proc.kill()  # SIGKILL: its directory stays
            proc.wait(10)
        assert _dirs(tmp)  # the last one at least is still there
        survivor = start_worker("survivor")
        wait_for(lambda: runtime.store.get_job(job.id).status.is_terminal, timeout=180)
        wait_for(lambda: not _dirs(tmp), timeout=60)  # the next sweeps remove the rest
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0
        done = runtime.store.get_job(job.id)
        assert done.status is Status.COMPLETED, done.error_message
        outcomes = [a.outcome for a in runtime.store.attempts(job.id)]
        assert outcomes == ["lost"] * KILLS + ["completed"]
        log = (tmp_path / "survivor.log").read_text()
        assert "removed the render directory of a dead attempt" in log
    finally:
        runtime.close()
