"""The fault suite's common parts: settings, the lost / duplicated / stuck tally, render
directories left behind, and the worker kill cycles.

Shared by ``tests/chaos/`` (a few cycles, asserting every count is 0) and ``bench/chaos/`` (many
cycles, printing the counts). Server kills live in ``tests/support/chaos_serve.py``, the S3
outage in ``tests/support/chaos_s3.py``.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Job, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.storage import layout
from reelforge.worker.leftovers import PREFIX, workdir_prefix
from tests.support.engines import FAST_FAILOVER
from tests.support.settings import fast_settings, subprocess_env
from tests.support.wait import wait_for

# Kills land on first attempts only, so no job runs out of attempts because of them; the bound
# also keeps a slow machine's late heartbeats (extra lost attempts) from failing a job.
MAX_ATTEMPTS = 20
Say = Callable[[str], None]


def chaos_settings(data_dir: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    """Slowed testcard jobs (a few seconds each, killable mid-render) and 2 s leases."""
    values: dict[str, Any] = {**FAST_FAILOVER, "max_attempts": MAX_ATTEMPTS}
    if database_url is not None:
        values["database_url"] = database_url
    values.update(overrides)
    return fast_settings(data_dir, **values)


def exit_on_sigterm() -> None:
    """A script stopped with SIGTERM unwinds (its ``finally`` blocks stop the servers, workers
    and database it started) instead of leaving them running."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every kill script takes: where the database is, how long to drain, where
    the kills land, how much to say."""
    parser.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    parser.add_argument(
        "--own-postgres", action="store_true", help="a PostgreSQL of its own (initdb, temporary)"
    )
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1, help="where in the render kills land")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per kill")


def parse_run_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, stop cleanly on SIGTERM, and exit with the reason when ``--own-postgres`` cannot
    be honoured here."""
    from tests.support.pg_instance import missing_reason

    args = parser.parse_args()
    exit_on_sigterm()
    if args.own_postgres and (reason := missing_reason()) is not None:
        sys.exit(f"cannot run: {reason}")
    return args


@contextmanager
def database(url: str | None, own_postgres: bool) -> Iterator[str | None]:
    """The database URL a run uses: ``url``; a PostgreSQL instance of the run's own
    (``initdb`` in a temporary directory, removed after); or None (SQLite in the data dir)."""
    if not own_postgres:
        yield url
        return
    from tests.support.pg_instance import pg_instance

    with pg_instance() as instance:
        yield instance.url


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """``subprocess_env`` plus the settings it leaves out that the chaos runs change."""
    values = {
        "REELFORGE_MAX_ATTEMPTS": str(settings.max_attempts),
        "REELFORGE_WORKER_CONCURRENCY": str(settings.worker_concurrency),
        "REELFORGE_EMBEDDED_WORKERS_MODE": settings.embedded_workers_mode,
        "REELFORGE_SHUTDOWN_GRACE_SECONDS": str(settings.shutdown_grace_seconds),
    }
    if settings.blob_url is not None:  # an object store: its location and credentials
        secret = settings.s3_secret_access_key
        s3 = {
            "BLOB_URL": settings.blob_url,
            "S3_ENDPOINT_URL": settings.s3_endpoint_url,
            "S3_REGION": settings.s3_region,
            "S3_ACCESS_KEY_ID": settings.s3_access_key_id,
            "S3_SECRET_ACCESS_KEY": secret.get_secret_value() if secret else None,
            "S3_ADDRESSING_STYLE": settings.s3_addressing_style,
        }
        values.update({f"REELFORGE_{k}": v for k, v in s3.items() if v is not None})
    return subprocess_env(settings, **{**values, **extra})


def submit(runtime: Runtime, number: int) -> str:
    spec = GenerationSpec.build(f"chaos job {number}: a lighthouse at dusk", seconds=4, seed=number)
    return runtime.database.enqueue(spec).id


@dataclass(frozen=True, slots=True)
class Tally:
    """What a run did to the jobs it got accepted."""

    jobs: int
    lost: int  # accepted, then missing
    failed: int  # ended without completing (out of attempts, an error)
    duplicated: int  # more than one completed attempt, or outputs beyond the winner's
    stuck: int  # not terminal when the drain timed out
    leftover_dirs: int  # render directories in the data dirs after the sweeper ran
    failures: tuple[str, ...] = ()  # why the failed ones failed (attempts, error code, message)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.failed or self.duplicated or self.stuck or self.leftover_dirs)

    def line(self) -> str:
        why = f" ({'; '.join(self.failures)})" if self.failures else ""
        return (
            f"jobs {self.jobs}: lost {self.lost}, failed {self.failed}{why}, duplicated "
            f"{self.duplicated}, stuck {self.stuck}, leftover render dirs {self.leftover_dirs}"
        )


def render_dirs(data_dirs: Iterable[Path]) -> list[Path]:
    """Render directories of attempts (``<data_dir>/tmp/job-*``), live or dead."""
    found: list[Path] = []
    for data_dir in data_dirs:
        root = data_dir / "tmp"
        if root.is_dir():
            found += [p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX)]
    return found


def drain(runtime: Runtime, job_ids: list[str], timeout: float) -> dict[str, Job]:
    """The jobs once every one is terminal, or as they are when ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = runtime.store.get_jobs(job_ids)
        if all(j.status.is_terminal for j in jobs.values()) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.5)


def is_duplicated(runtime: Runtime, job: Job) -> bool:
    completed = [a for a in runtime.store.attempts(job.id) if a.outcome == "completed"]
    if job.status is not Status.COMPLETED:
        return bool(completed)
    outputs = job.outputs
    assert outputs is not None
    keys = set(runtime.blobs.list_prefix(layout.outputs_prefix(job.id)))
    return len(completed) != 1 or keys != {outputs.video, outputs.thumbnail, outputs.spritesheet}


def tally(runtime: Runtime, job_ids: list[str], data_dirs: Iterable[Path], timeout: float) -> Tally:
    """Drain, let the workers' sweepers tick, then count. The workers must still be running:
    the leftover directories counted are the ones their sweepers left."""
    jobs = drain(runtime, job_ids, timeout)
    time.sleep(max(2.0, 5 * runtime.settings.sweep_seconds))  # a few sweeper ticks
    failed = [j for j in jobs.values() if j.status.is_terminal and j.status != Status.COMPLETED]
    return Tally(
        jobs=len(job_ids),
        lost=len(set(job_ids) - set(jobs)),
        failed=len(failed),
        failures=tuple(f"{j.attempts} attempts, {j.error_code}: {j.error_message}" for j in failed),
        duplicated=sum(1 for j in jobs.values() if is_duplicated(runtime, j)),
        stuck=sum(1 for j in jobs.values() if not j.status.is_terminal),
        leftover_dirs=len(render_dirs(data_dirs)),
    )


def owner_pid(job: Job) -> int | None:
    """The pid in a lease owner (``host:pid``, the worker id's default)."""
    owner = job.lease_owner or ""
    tail = owner.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def pick_victim(
    runtime: Runtime, run: KillRun, pids: set[int], threshold: float
) -> tuple[Job, int] | None:
    """A job of ours on its first attempt, running in one of ``pids`` past ``threshold``
    progress, and its worker's pid."""
    running = [
        (job, pid)
        for job in runtime.store.get_jobs(run.job_ids).values()
        if job.status is Status.RUNNING
        and job.attempts == 1
        and job.progress >= threshold
        and (pid := owner_pid(job)) in pids
    ]
    return max(running, key=lambda found: found[0].progress) if running else None


@dataclass
class WorkerPool:
    """``reelforge worker`` processes on ``settings``, each with its own log."""

    settings: Settings
    log_dir: Path
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: int = 0

    def start(self) -> int:
        self.started += 1
        handle = (self.log_dir / f"worker{self.started}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "reelforge.cli", "worker"],
            env=worker_env(self.settings),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        self.processes[proc.pid] = proc
        return proc.pid

    def kill(self, pid: int) -> None:
        proc = self.processes.pop(pid)
        proc.kill()  # SIGKILL: no cleanup, the lease is left to expire
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.processes.clear()


@dataclass
class KillRun:
    job_ids: list[str] = field(default_factory=list)
    kills: int = 0
    left_dirs: int = 0  # kills after which the killed attempt's render directory was there
    progress_at_kill: list[float] = field(default_factory=list)


def keep_busy(runtime: Runtime, run: KillRun, backlog: int) -> None:
    """Submit jobs until ``backlog`` of ours are queued or running (while kills go on: the
    cycles run under a steady trickle of new work)."""
    jobs = runtime.store.get_jobs(run.job_ids)
    waiting = sum(1 for j in jobs.values() if not j.status.is_terminal)
    for _ in range(max(0, backlog - waiting)):
        run.job_ids.append(submit(runtime, len(run.job_ids)))


def topped_up_victim(
    runtime: Runtime, run: KillRun, pids: set[int], threshold: float, backlog: int
) -> tuple[Job, int] | None:
    keep_busy(runtime, run, backlog)
    return pick_victim(runtime, run, pids, threshold)


def worker_kills(
    runtime: Runtime,
    pool: WorkerPool,
    *,
    kills: int,
    workers: int = 2,
    seed: int = 1,
    say: Say = lambda _line: None,
) -> KillRun:
    """``kills`` cycles: keep jobs coming, SIGKILL the worker running one of them at a random
    point of its render (engine steps, encoding, upload), start a new worker. The pool keeps
    running afterwards (its sweepers are what ``tally`` counts after); the caller stops it."""
    chance, run = random.Random(seed), KillRun()
    backlog = workers * pool.settings.worker_concurrency + 1
    for _ in range(workers):
        pool.start()
    for cycle in range(kills):
        # At most 0.97: the progress an attempt reports while it uploads its outputs.
        threshold = chance.uniform(0.02, 0.97)
        victim = partial(topped_up_victim, runtime, run, set(pool.processes), threshold, backlog)
        found = wait_for(victim, timeout=120)
        assert found is not None  # wait_for returns only a truthy value
        job, pid = found
        pool.kill(pid)
        run.kills += 1
        run.progress_at_kill.append(job.progress)
        mine = workdir_prefix(job.id, job.lease_token or "")
        run.left_dirs += any(p.name.startswith(mine) for p in render_dirs([pool.settings.data_dir]))
        say(f"kill {cycle + 1}/{kills}: worker {pid} at {job.progress:.0%} of job {job.id}")
        pool.start()
    return run
