"""A database outage under load, observed from the outside: a real ``reelforge serve`` on a
PostgreSQL instance of its own (``tests.support.pg_instance``), creates at a steady rate through
both API surfaces from keep-alive clients, and probes of ``/healthz`` and ``/readyz``.

Shared by ``tests/e2e/test_db_outage.py`` (which asserts the contract) and
``bench/chaos/db_outage.py`` (which prints the figures).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reelforge.api.mapping import job_id_from_task_id, job_id_from_video_id
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from tests.support.settings import fast_settings, subprocess_env
from tests.support.wait import wait_for

SEED_CREATE = "/vendors/openai/v1/sora/generation"
OPENAI_CREATE = "/v1/videos"
BODY = {"prompt": "a lighthouse at dusk", "seconds": "4", "size": "1280x720"}


@dataclass(frozen=True, slots=True)
class Answer:
    """One create as its client saw it (times: ``time.monotonic()``)."""

    client: int  # which load thread (each has its own keep-alive client)
    surface: str  # "openai" | "seed"
    started: float
    elapsed: float
    status: int | None  # None: no answer (a transport error or the client's timeout)
    headers: dict[str, str]
    body: Any
    job_id: str | None  # of an accepted create
    local_port: int | None  # the client's end of the connection that carried it
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    path: str
    started: float
    elapsed: float
    status: int | None


def _local_port(response: httpx.Response) -> int | None:
    stream = response.extensions.get("network_stream")
    address = stream.get_extra_info("client_addr") if stream is not None else None
    return int(address[1]) if address else None


def _accepted_id(surface: str, body: Any) -> str | None:
    if surface == "openai":
        return job_id_from_video_id(str(body.get("id", "")))
    return job_id_from_task_id(str(body.get("task_info", {}).get("id", "")))


def create_once(client: httpx.Client, surface: str, number: int = 0) -> Answer:
    path = OPENAI_CREATE if surface == "openai" else SEED_CREATE
    started = time.monotonic()
    try:
        response = client.post(path, json=BODY)
    except httpx.HTTPError as exc:
        elapsed = time.monotonic() - started
        return Answer(number, surface, started, elapsed, None, {}, None, None, None, repr(exc))
    elapsed = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text
    accepted = response.status_code in (200, 202) and isinstance(body, dict)
    job_id = _accepted_id(surface, body) if accepted else None
    headers = {k.lower(): v for k, v in response.headers.items()}
    port = _local_port(response)
    status = response.status_code
    return Answer(number, surface, started, elapsed, status, headers, body, job_id, port)


@dataclass
class Load:
    """Creates at ``rate`` per second in all, from ``threads`` threads, each with its own
    keep-alive client, alternating the two surfaces."""

    base_url: str
    token: str
    rate: float = 20.0
    threads: int = 4
    timeout: float = 10.0
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> list[Answer]:
        self._stop.set()
        for thread in self._workers:
            thread.join(self.timeout + 5)
        return sorted(self.answers, key=lambda a: a.started)

    def _run(self, number: int) -> None:
        interval = self.threads / self.rate
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:
            due = time.monotonic() + number * interval / self.threads  # spread the threads
            sent = 0
            while not self._stop.is_set():
                self._stop.wait(max(0.0, due - time.monotonic()))
                if self._stop.is_set():
                    return
                surface = "openai" if (sent + number) % 2 else "seed"
                answer = create_once(client, surface, number)
                with self._lock:
                    self.answers.append(answer)
                sent += 1
                due += interval


@dataclass
class Prober:
    """GETs ``path`` every ``interval`` seconds on one keep-alive client."""

    base_url: str
    path: str
    interval: float = 0.02
    probes: list[Probe] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> list[Probe]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        return list(self.probes)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.wait(self.interval):
                started = time.monotonic()
                try:
                    status: int | None = client.get(self.path).status_code
                except httpx.HTTPError:
                    status = None
                self.probes.append(Probe(self.path, started, time.monotonic() - started, status))


def outage_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    """The served settings: testcard jobs, a lease longer than the outage (so a running job's
    attempt survives it and completes), process-mode workers as ``serve`` runs them."""
    values: dict[str, Any] = {
        "engine": "testcard",
        "database_url": database_url,
        "lease_seconds": 30.0,
        "embedded_workers_mode": "process",
    }
    values.update(overrides)
    return fast_settings(data_dir, **values)


class Served:
    """``reelforge serve`` on ``settings`` (a subprocess, its output in ``log``; ``env`` adds
    to the environment ``subprocess_env`` gives it). Also what the browser and serve-process
    tests start their server with."""

    def __init__(self, settings: Settings, port: int, log: Path, **env: str) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reelforge.cli", "serve", "--port", str(port)],
            env=subprocess_env(settings, **env),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextmanager
def serving(settings: Settings, port: int, log: Path) -> Iterator[Served]:
    served = Served(
        settings,
        port,
        log,
        REELFORGE_LEASE_SECONDS=str(settings.lease_seconds),
        REELFORGE_WORKER_CONCURRENCY=str(settings.worker_concurrency),
    )
    try:
        wait_for(served.ready, timeout=120, interval=0.1)
        yield served
    finally:
        served.close()


def new_token(settings: Settings) -> str:
    """A fresh API key on the served database (which this also migrates)."""
    runtime = Runtime.open(settings)
    try:
        return runtime.keys.create("outage").token
    finally:
        runtime.close()


@dataclass(frozen=True, slots=True)
class OutageRun:
    answers: list[Answer]
    health: list[Probe]
    ready: list[Probe]
    stopped_at: float  # the database went away
    restart_at: float  # its start was asked for
    back_at: float  # it accepts connections again (the start returned)
    ready_again_at: float | None  # the first /readyz 200 started after back_at

    def during(self) -> list[Answer]:
        """Creates sent while the database was away (until /readyz said ready again)."""
        end = self.ready_again_at or self.back_at
        return [a for a in self.answers if self.stopped_at <= a.started <= end]

    def readyz_during(self) -> list[Probe]:
        """Readiness probes sent while the database was surely away."""
        return [p for p in self.ready if self.stopped_at + 0.5 <= p.started <= self.restart_at]


def run_outage(
    stop_database: Any,
    start_database: Any,
    base_url: str,
    token: str,
    *,
    rate: float = 20.0,
    before: float = 1.5,
    outage: float = 5.0,
    after: float = 2.5,
) -> OutageRun:
    """Load and probes running; the database stopped for ``outage`` seconds, then started."""
    load = Load(base_url, token, rate=rate)
    health, ready = Prober(base_url, "/healthz"), Prober(base_url, "/readyz", interval=0.05)
    for part in (health, ready, load):
        part.start()
    time.sleep(before)
    stop_database()
    # After the stop returns: `pg_ctl stop` takes a while under load, and the database answers
    # until it has.
    stopped_at = time.monotonic()
    time.sleep(outage)
    restart_at = time.monotonic()
    start_database()
    back_at = time.monotonic()
    time.sleep(after)
    answers = load.stop()

    def ready_again() -> float | None:
        later = [p for p in list(ready.probes) if p.started >= back_at and p.status == 200]
        return later[0].started if later else None

    ready_again_at = wait_for(ready_again, timeout=60, interval=0.05)
    return OutageRun(
        answers, health.stop(), ready.stop(), stopped_at, restart_at, back_at, ready_again_at
    )
