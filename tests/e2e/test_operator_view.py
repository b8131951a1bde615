"""An operator's view of a real deployment: ``reelforge serve --no-workers`` and a separate
``reelforge worker``, both writing JSON logs.

With a job queued and no worker, ``/readyz`` says 503 and why; once the worker runs, it is 200
and the job completes; the admin endpoint lists the worker; every log line of both processes
is one JSON object, and the request id sent with the create is on the server's lines for that
request and on the worker's lines for the job.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.core.runtime import Runtime
from tests.support.s3 import free_port
from tests.support.settings import fast_settings, subprocess_env
from tests.support.wait import wait_for

REQUEST_ID = "studio-create-0001"


class Processes:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", "reelforge.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def json_lines(self, name: str) -> list[dict[str, Any]]:
        text = (self.root / f"{name}.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def stop(self) -> None:
        for process in self.running.values():
            process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[Processes, Runtime]]:
    settings = fast_settings(tmp_path / "data", engine="testcard")
    runtime = Runtime.open(settings)  # migrated before either process starts
    processes = Processes(
        tmp_path, subprocess_env(settings, REELFORGE_LOG_FORMAT="json", REELFORGE_OTEL="0")
    )
    try:
        yield processes, runtime
    finally:
        processes.stop()
        runtime.close()


def test_readiness_follows_the_external_worker_and_logs_carry_the_request_id(
    deployment: tuple[Processes, Runtime],
) -> None:
    processes, runtime = deployment
    admin = runtime.keys.create("operator", admin=True).token
    headers = {"Authorization": f"Bearer {admin}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.start("api", "serve", "--no-workers", "--port", str(port))

    def ready() -> httpx.Response | None:
        assert processes.running["api"].poll() is None, "serve exited"
        try:
            return httpx.get(base + "/readyz", timeout=2)
        except httpx.TransportError:
            return None

    first = wait_for(ready, timeout=60, interval=0.1)
    assert first.status_code == 200, "nothing queued: an API-only node is ready"
    created = httpx.post(
        base + "/v1/videos",
        json={"prompt": "a paper boat on a pond", "seconds": "4"},
        headers={**headers, "X-Request-Id": REQUEST_ID},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    assert created.headers["x-request-id"] == REQUEST_ID
    waiting = httpx.get(base + "/readyz", timeout=5)
    assert waiting.status_code == 503
    assert waiting.json()["reason"].startswith("1 job queued and no worker seen")

    processes.start("worker", "worker")
    video = created.json()["id"]

    def finished() -> bool:
        answer = httpx.get(f"{base}/v1/videos/{video}", headers=headers, timeout=5)
        return bool(answer.json()["status"] == "completed")

    wait_for(finished, timeout=120, interval=0.2)
    assert httpx.get(base + "/readyz", timeout=5).status_code == 200
    status = httpx.get(base + "/v1/admin/status", headers=headers, timeout=5).json()
    (worker,) = status["workers"]
    assert worker["alive"] and worker["state"] == "loaded" and worker["engine"] == "testcard"
    processes.stop()

    api_lines = processes.json_lines("api")
    worker_lines = processes.json_lines("worker")
    assert any(line.get("request_id") == REQUEST_ID for line in api_lines), api_lines
    about_job = [line for line in worker_lines if line.get("job_id")]
    assert about_job and {line["request_id"] for line in about_job} == {REQUEST_ID}
