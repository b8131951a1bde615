"""The fault suite's ``reelforge serve`` parts: the server as a subprocess that can be SIGKILLed
and started again on the same port, creates through its API, its content downloads checked
byte for byte (a full, probe-able MP4 or an error, never a cut file), and the server kill cycles.

Shared by ``tests/chaos/`` and ``bench/chaos/`` (with ``tests/support/chaos.py``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineError
from reelforge.domain.events import video_id
from reelforge.domain.jobs import Job, Status
from reelforge.media.probe import probe
from tests.e2e.test_serve_processes import is_running, worker_children
from tests.support.chaos import Say, owner_pid, worker_env
from tests.support.outage import create_once
from tests.support.s3 import free_port
from tests.support.wait import wait_for


class ServeProcess:
    """``reelforge serve`` on ``settings`` at a fixed port, its output appended to ``log``."""

    def __init__(self, settings: Settings, log: Path, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "reelforge.cli", "serve", "--port", str(self.port)]
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                command, env=worker_env(self.settings), stdout=handle, stderr=subprocess.STDOUT
            )
        wait_for(self._ready, timeout=120, interval=0.1)

    def _ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        try:
            return httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def workers(self) -> list[int]:
        return worker_children(self.pid) if self.process is not None else []

    def kill(self, *, with_workers: bool) -> list[int]:
        """SIGKILL the server (and its worker processes: a host crash); the worker processes
        left running, which stop by themselves once they see the server gone."""
        children = self.workers()
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        self.process = None
        if with_workers:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
        return [] if with_workers else children

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@dataclass(frozen=True, slots=True)
class Download:
    """One GET of a video's content: ``full`` is a 200 whose bytes are the whole declared
    length and probe as a video; ``cut`` a 200 whose body ended early (the client saw the
    connection close before Content-Length); ``bad`` a 200 with all its bytes that is not a
    playable video (a partial object served as whole: what must never happen)."""

    status: int | None
    full: bool = False
    cut: bool = False
    bad: bool = False


def download(client: httpx.Client, job_id: str) -> Download:
    try:
        with client.stream("GET", f"/v1/videos/{video_id(job_id)}/content") as response:
            if response.status_code != 200:
                response.read()
                return Download(response.status_code)
            declared = int(response.headers.get("content-length", "-1"))
            try:
                data = response.read()
            except httpx.TransportError:
                return Download(200, cut=True)
    except httpx.TransportError:
        return Download(None)
    if declared >= 0 and len(data) != declared:
        return Download(200, cut=True)
    return Download(200, full=True) if _playable(data) else Download(200, bad=True)


def _playable(data: bytes) -> bool:
    with tempfile.NamedTemporaryFile(suffix=".mp4") as handle:
        handle.write(data)
        handle.flush()
        try:
            info = probe(Path(handle.name))
        except EngineError:
            return False
    return info.frame_count > 0 and info.duration > 0


def unserved(base_url: str, token: str, jobs: list[Job]) -> int:
    """Completed jobs whose video the API does not serve whole."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        done = [job for job in jobs if job.status is Status.COMPLETED]
        return sum(1 for job in done if not download(client, job.id).full)


@dataclass
class ServerKillRun:
    job_ids: list[str] = field(default_factory=list)
    kills: int = 0
    refused: int = 0  # creates not accepted (the server was down): not the run's jobs
    orphans_left: int = 0  # worker processes still running long after their server died
    progress_at_kill: list[float] = field(default_factory=list)


def top_up(client: httpx.Client, runtime: Runtime, run: ServerKillRun, backlog: int) -> None:
    """Create jobs through the API (both surfaces in turn) until ``backlog`` are unfinished."""
    jobs = runtime.store.get_jobs(run.job_ids)
    waiting = sum(1 for j in jobs.values() if not j.status.is_terminal)
    for _ in range(max(0, backlog - waiting)):
        answer = create_once(client, "openai" if len(run.job_ids) % 2 else "seed")
        if answer.job_id is None:
            run.refused += 1
        else:
            run.job_ids.append(answer.job_id)


def served_victim(
    client: httpx.Client,
    runtime: Runtime,
    run: ServerKillRun,
    server: ServeProcess,
    threshold: float,
) -> Job | None:
    top_up(client, runtime, run, backlog=server.settings.worker_concurrency + 1)
    pids = set(server.workers())
    running = [
        job
        for job in runtime.store.get_jobs(run.job_ids).values()
        if job.status is Status.RUNNING
        and job.attempts == 1  # a kill never costs a job more than one attempt
        and job.progress >= threshold
        and owner_pid(job) in pids
    ]
    return max(running, key=lambda job: job.progress) if running else None


def server_kills(
    runtime: Runtime,
    server: ServeProcess,
    token: str,
    *,
    kills: int,
    seed: int = 1,
    say: Say = lambda _line: None,
) -> ServerKillRun:
    """``kills`` cycles: with jobs running, SIGKILL the server mid-job (every other cycle with
    its worker process too: a host crash), start it again on the same port. Leaves it running."""
    chance, run = random.Random(seed), ServerKillRun()
    headers = {"Authorization": f"Bearer {token}"}
    grace = server.settings.shutdown_grace_seconds
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        for cycle in range(kills):
            threshold = chance.uniform(0.02, 0.97)
            victim = partial(served_victim, client, runtime, run, server, threshold)
            job = wait_for(victim, timeout=120)
            assert job is not None  # wait_for returns only a truthy value
            host_crash = cycle % 2 == 1
            orphans = server.kill(with_workers=host_crash)
            run.kills += 1
            run.progress_at_kill.append(job.progress)
            what = "server and its worker" if host_crash else "server"
            say(f"kill {cycle + 1}/{kills}: {what} at {job.progress:.0%} of job {job.id}")
            server.start()
            # An orphaned worker finishes or releases its jobs within the grace, then exits.
            deadline = time.monotonic() + grace + 30
            while any(map(is_running, orphans)) and time.monotonic() < deadline:
                time.sleep(0.2)
            for pid in filter(is_running, orphans):
                run.orphans_left += 1
                os.kill(pid, signal.SIGKILL)  # counted; not left behind the run
    return run
