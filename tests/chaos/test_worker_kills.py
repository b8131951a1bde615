"""Worker SIGKILL cycles (the CI cut of ``bench/chaos/worker_kills.py``): ``reelforge worker``
processes killed at random points of their renders while jobs keep coming. Every accepted job
completes exactly once, nothing is stuck, and the workers' sweepers leave no render
directory of a dead attempt behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.core.runtime import Runtime
from tests.support.chaos import WorkerPool, chaos_settings, tally, worker_kills

KILLS = 5
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_worker_sigkills_lose_duplicate_and_leave_nothing(
    database_url: str, tmp_path: Path
) -> None:
    settings = chaos_settings(tmp_path / "data", database_url)
    runtime = Runtime.open(settings)
    pool = WorkerPool(settings, tmp_path)
    try:
        run = worker_kills(runtime, pool, kills=KILLS, workers=2)
        result = tally(runtime, run.job_ids, [settings.data_dir], timeout=240)
    finally:
        pool.stop()
        runtime.close()
    assert run.kills == KILLS
    assert result.clean, result.line()
