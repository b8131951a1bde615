"""``reelforge serve`` SIGKILL cycles (the CI cut of ``bench/chaos/server_kills.py``): the server
killed mid-job, alone or with its worker process, and started again. Every accepted job
completes exactly once and is served whole by the API; no render directory is left behind and
no orphaned worker process outlives its grace."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.core.runtime import Runtime
from tests.support.chaos import chaos_settings, tally
from tests.support.chaos_serve import ServeProcess, server_kills, unserved
from tests.support.outage import new_token

KILLS = 2
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_server_sigkills_lose_nothing(database_url: str, tmp_path: Path) -> None:
    settings = chaos_settings(
        tmp_path / "data", database_url, embedded_workers_mode="process", worker_concurrency=2
    )
    token = new_token(settings)
    runtime = Runtime.open(settings)
    server = ServeProcess(settings, tmp_path / "serve.log")
    try:
        server.start()
        run = server_kills(runtime, server, token, kills=KILLS)
        result = tally(runtime, run.job_ids, [settings.data_dir], timeout=240)
        missing = unserved(
            server.base_url, token, list(runtime.store.get_jobs(run.job_ids).values())
        )
    finally:
        server.stop()
        runtime.close()
    assert run.kills == KILLS
    assert result.clean, result.line()
    assert missing == 0 and run.orphans_left == 0
