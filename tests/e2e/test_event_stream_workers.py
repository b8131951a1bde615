"""An event stream across processes: ``reelforge serve --no-workers`` answers the stream while a
``reelforge worker`` process runs the job, on the same database (SQLite: the API process sees
the changes by polling; PostgreSQL: by LISTEN/NOTIFY, polling as the safety net)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reelforge.api.schemas.openai import Video
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from tests.support.engines import SLOW_ENGINE
from tests.support.settings import SettingsFactory, subprocess_env
from tests.support.sse import parse_events
from tests.support.wait import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for proc in running:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def start(args: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "reelforge.cli", *args],
        env=subprocess_env(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_a_stream_on_the_api_follows_a_job_run_by_another_process(
    make_settings: SettingsFactory, procs: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    settings = make_settings(engine=SLOW_ENGINE, engine_options={"step_delay": 0.03})
    runtime = Runtime.open(settings)
    token = runtime.keys.create("events e2e").token
    runtime.close()
    port = _free_port()
    api = start(["serve", "--no-workers", "--port", str(port)], settings, tmp_path / "api.log")
    procs.append(api)
    base = f"http://127.0.0.1:{port}"

    def api_is_up() -> bool:
        assert api.poll() is None, (tmp_path / "api.log").read_text()
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(api_is_up, timeout=60, interval=0.1)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        body = {"prompt": "a red kite over a park", "seconds": "4", "size": "720x1280"}
        video_id = client.post("/v1/videos", json=body).json()["id"]
        with client.stream("GET", f"/v1/videos/{video_id}/events") as response:
            assert response.status_code == 200
            events = parse_events(response.iter_lines())
            queued = next(events)
            # The job runs in another process, started only now: nothing runs in the API's.
            procs.append(start(["worker"], settings, tmp_path / "worker.log"))
            rest = list(events)

    assert queued.event == "queued"
    assert Video.model_validate_json(queued.data).queue_position == 0
    names = [e.event for e in rest]
    assert names[0] == "started" and names[-1] == "completed", names
    progress = [Video.model_validate_json(e.data).progress for e in rest[:-1]]
    assert progress == sorted(progress) and progress[-1] > progress[0]
    # At least once a second while running, on average over the run.
    running = [e.received_at for e in rest[:-1]]
    assert len(running) >= 3
    assert (running[-1] - running[0]) / (len(running) - 1) <= 1.05
    assert Video.model_validate_json(rest[-1].data).status == "completed"
    assert api.poll() is None, "the API process stayed up throughout"
