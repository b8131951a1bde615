"""``reelforge serve`` with its workers in a child process (the default): a SIGKILLed child is
restarted and its job retried; SIGTERM stops the child within the grace; the server's own
interpreter never imports the GPU libraries."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.worker.supervisor import STOP_MARGIN_SECONDS
from tests.support.engines import FAST_FAILOVER, SLOW_ENGINE
from tests.support.outage import Served as ServeSubprocess
from tests.support.settings import SettingsFactory, subprocess_env
from tests.support.wait import wait_for

GRACE_SECONDS = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_children(parent: int) -> list[int]:
    """The worker processes ``parent`` spawned (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def is_running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Served(ServeSubprocess):
    """A ``reelforge serve`` subprocess with a key, its log, and a runtime on its database."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.runtime = Runtime.open(settings)
        self.token = self.runtime.keys.create("serve processes").token
        grace = str(GRACE_SECONDS)
        super().__init__(settings, _free_port(), log, REELFORGE_SHUTDOWN_GRACE_SECONDS=grace, **env)

    def create(self) -> str:
        """A job through the seed surface (its 202 names the job id); returns the id."""
        body = {"prompt": "a lighthouse at dusk", "seconds": "4", "size": "1280x720"}
        headers = {"Authorization": f"Bearer {self.token}"}
        url = self.base_url + "/vendors/openai/v1/sora/generation"
        response = httpx.post(url, json=body, headers=headers, timeout=30)
        assert response.status_code == 202, response.text
        return str(response.json()["task_info"]["id"])

    def the_worker(self) -> int:
        children = wait_for(lambda: worker_children(self.process.pid), timeout=60)
        assert len(children) == 1, children
        return children[0]

    def close(self) -> None:
        super().close()
        self.runtime.close()


@pytest.fixture
def served() -> Iterator[list[Served]]:
    running: list[Served] = []
    yield running
    for server in running:
        server.close()


def test_a_sigkilled_worker_process_is_restarted_and_its_job_retried(
    make_settings: SettingsFactory, served: list[Served], tmp_path: Path
) -> None:
    settings = make_settings(
        **FAST_FAILOVER,
    )
    server = Served(settings, tmp_path / "serve.log")
    served.append(server)
    wait_for(server.ready, timeout=60, interval=0.1)
    job_id = server.create()
    store = server.runtime.store
    wait_for(lambda: store.get_job(job_id).progress > 0.1, timeout=60)
    first = server.the_worker()
    os.kill(first, signal.SIGKILL)

    def restarted() -> int | None:
        children = [pid for pid in worker_children(server.process.pid) if pid != first]
        return children[0] if children else None

    second = wait_for(restarted, timeout=60)
    wait_for(lambda: store.get_job(job_id).status.is_terminal, timeout=120)
    done = store.get_job(job_id)
    assert done.status is Status.COMPLETED, done.error_message
    attempts = store.attempts(job_id)
    assert [a.outcome for a in attempts] == ["lost", "completed"]
    assert attempts[1].worker.endswith(f":{second}")  # the new child ran the retry
    assert server.ready()  # the new child's engine is reported loaded again
    log = server.log.read_text()
    assert f"worker process {first} was killed by SIGKILL" in log


def test_sigterm_to_serve_stops_its_worker_process_within_the_grace(
    sqlite_settings: Settings, served: list[Served], tmp_path: Path
) -> None:
    settings = sqlite_settings.model_copy(
        update={"engine": SLOW_ENGINE, "engine_options": {"step_delay": 0.2}}  # a ~20 s job
    )
    server = Served(settings, tmp_path / "serve.log")
    served.append(server)
    wait_for(server.ready, timeout=60, interval=0.1)
    job_id = server.create()
    store = server.runtime.store
    wait_for(lambda: store.get_job(job_id).status is Status.RUNNING, timeout=60)
    child = server.the_worker()

    server.process.send_signal(signal.SIGTERM)
    # The grace is 1 s; the server SIGKILLs a child still there after the grace + a margin.
    code = server.process.wait(timeout=GRACE_SECONDS + STOP_MARGIN_SECONDS + 30)
    assert code in (0, -signal.SIGTERM), server.log.read_text()
    assert not is_running(child)
    log = server.log.read_text()
    assert "did not exit in time" not in log  # it stopped by itself, within the grace
    released = store.get_job(job_id)
    assert released.status is Status.QUEUED, log
    assert [a.outcome for a in store.attempts(job_id)] == ["released"]


def test_the_configured_setting_decides_workers_when_no_flag_is_given(
    sqlite_settings: Settings, served: list[Served], tmp_path: Path
) -> None:
    """``REELFORGE_EMBEDDED_WORKERS=false`` makes ``serve`` an API-only node, as the
    configuration table says; a job waits and ``/readyz`` says why."""
    server = Served(sqlite_settings, tmp_path / "serve.log", REELFORGE_EMBEDDED_WORKERS="false")
    served.append(server)
    wait_for(server.ready, timeout=60, interval=0.1)  # nothing queued: an API node is ready
    server.create()
    readyz = httpx.get(server.base_url + "/readyz", timeout=10)
    assert readyz.status_code == 503, readyz.text  # a job waits and no worker can take it
    assert worker_children(server.process.pid) == []


def report_api_modules() -> None:
    """Run in a subprocess: the app with the diffusers engine in process mode, through its
    lifespan until ``/readyz`` reports the child's engine; print what this process imported."""
    from starlette.testclient import TestClient

    from reelforge.api.app import create_app

    settings = Settings(embedded_workers_mode="process")  # the rest from REELFORGE_* variables
    with TestClient(create_app(settings)) as client:

        def engine_reported() -> dict[str, object] | None:
            body: dict[str, object] = client.get("/readyz").json()
            return body if body["engine_state"] != "loading" else None

        readiness = wait_for(engine_reported, timeout=240, interval=0.2)
    imported = sorted(name for name in ("torch", "diffusers") if name in sys.modules)
    print(json.dumps({"readyz": readiness, "imported": imported}))


def test_the_api_process_never_imports_torch_or_diffusers(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    """With the lexicon policy (the test settings): the optional semantic policy layer is the
    one thing that brings torch (CPU) into the API process, when an operator installs it."""
    from tests.engines.diffusion.gpu_extra import require_gpu_extra

    require_gpu_extra()
    missing = tmp_path / "no-model-here"
    options = {"preset": "ltx2", "models": {}, "model_paths": {"ltx2": str(missing)}}
    settings = sqlite_settings.model_copy(
        update={"engine": "diffusers", "engine_options": {**options, "device": "cpu"}}
    )
    script = "from tests.e2e.test_serve_processes import report_api_modules as r; r()"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # The child imported the gpu extra and tried to load: its error reached /readyz ...
    assert report["readyz"]["engine_state"] == "failed", report
    assert f"model directory {missing} does not exist" in report["readyz"]["engine_error"]
    # ... while the API process imported neither library.
    assert report["imported"] == [], report
