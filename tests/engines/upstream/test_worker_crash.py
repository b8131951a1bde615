"""A worker SIGKILLed while it waits on the upstream: the next attempt resumes polling the same
upstream job instead of paying for a second render."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from tests.e2e.test_crash import start_worker
from tests.support.fake_upstream import FakeUpstream, FakeUpstreamBehaviour
from tests.support.settings import SettingsFactory
from tests.support.wait import wait_for


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(FakeUpstreamBehaviour(render_seconds=8.0, clip_audio=True)) as server:
        yield server


def test_sigkill_while_waiting_resumes_the_same_upstream_job(
    make_settings: SettingsFactory, fake: FakeUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        engine="upstream",
        engine_options={
            "allow_private": ["127.0.0.1/32"],
            "poll_max_seconds": 0.3,
            "upstreams": [
                {
                    "name": "fake",
                    "base_url": fake.url,
                    "api_key": fake.behaviour.api_key,
                    "models": {"sora-2": "fake-video-1"},
                }
            ],
        },
        lease_seconds=2.0,
        heartbeat_seconds=0.3,
        sweep_seconds=0.3,
    )
    runtime = Runtime.open(settings)
    job = runtime.database.enqueue(GenerationSpec.build("a heron in reeds", seconds=4, seed=5))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start_worker(settings, tmp_path / "worker1.log"))
        wait_for(lambda: runtime.store.get_job(job.id).engine_state.get("remote_id"), timeout=60)
        procs[0].kill()
        procs[0].wait(10)
        assert fake.creates == 1 and not fake.deletes
        procs.append(start_worker(settings, tmp_path / "worker2.log"))
        wait_for(lambda: runtime.store.get_job(job.id).status.is_terminal, timeout=120)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    done = runtime.store.get_job(job.id)
    assert done.status is Status.COMPLETED, done.error_message
    assert fake.creates == 1  # the second attempt polled the first attempt's upstream job
    assert done.attempts == 2
    assert done.engine_state["submissions"] == 1
    assert any("resumed polling" in line for line in done.engine_state["history"])
    runtime.close()
