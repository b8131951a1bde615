"""Render directories left behind by dead attempts (a worker SIGKILLed mid-encode), removed.

An attempt renders into ``<data_dir>/tmp/job-<job id>-<lease token>.<random>`` and removes the
directory itself when it ends; a killed process cannot. A directory is dead when no live
attempt can still write to it: its lease is not one this process runs, and the job's row does
not name that lease as its current one (the row does while the attempt holds the job, in this
process or in another process sharing the data directory). A directory from before the lease
token was in the name counts as live while its job is running, whichever lease it runs under.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from reelforge.domain.jobs import Job, Status

log = logging.getLogger(__name__)

PREFIX = "job-"


def workdir_prefix(job_id: str, lease_token: str) -> str:
    """The name an attempt's render directory starts with (``mkdtemp`` adds a random tail)."""
    return f"{PREFIX}{job_id}-{lease_token}."


@dataclass(frozen=True, slots=True)
class Leftover:
    path: Path
    job_id: str
    lease_token: str | None
    """None for a directory named before lease tokens were part of the name."""


def parse(path: Path) -> Leftover | None:
    """The job and lease a render directory belongs to; None for anything else."""
    name = path.name
    if not name.startswith(PREFIX):
        return None
    if "." in name:  # job-<id>-<token>.<random>
        head = name.removeprefix(PREFIX).rsplit(".", 1)[0]
        job_id, _, token = head.rpartition("-")
        return Leftover(path, job_id, token) if job_id and token else None
    job_id, _, tail = name.removeprefix(PREFIX).rpartition("-")  # job-<id>-<random>
    return Leftover(path, job_id, None) if job_id and tail else None


def is_live(leftover: Leftover, job: Job | None) -> bool:
    """Whether an attempt of ``job`` may still be writing to the directory."""
    if job is None or job.status is not Status.RUNNING:
        return False
    return leftover.lease_token is None or job.lease_token == leftover.lease_token


class LeftoverSweeper:
    """Removes dead render directories under ``tmp_root``; ``own_leases()``: the lease tokens
    this process runs now (never touched, without asking the database); ``get_jobs``: the
    store's batch read. ``reclaimed_bytes`` counts what was removed since start."""

    def __init__(
        self,
        tmp_root: Path,
        own_leases: Callable[[], Collection[str]],
        get_jobs: Callable[[list[str]], dict[str, Job]],
    ) -> None:
        self._root = tmp_root
        self._own_leases = own_leases
        self._get_jobs = get_jobs
        self.reclaimed_bytes = 0

    def sweep(self) -> int:
        """Remove the dead directories; the bytes they held. Database errors propagate (the
        caller retries at its next tick) and nothing is removed without the rows."""
        own = set(self._own_leases())
        candidates = [
            found
            for found in map(parse, _entries(self._root))
            if found is not None and found.lease_token not in own
        ]
        if not candidates:
            return 0
        jobs = self._get_jobs(sorted({c.job_id for c in candidates}))
        reclaimed = 0
        for leftover in candidates:
            if not is_live(leftover, jobs.get(leftover.job_id)):
                reclaimed += _remove(leftover.path)
        self.reclaimed_bytes += reclaimed
        return reclaimed


def _entries(root: Path) -> list[Path]:
    try:
        return [entry for entry in root.iterdir() if entry.is_dir()]
    except FileNotFoundError:
        return []


def _remove(path: Path) -> int:
    size = _size(path)
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        log.warning("could not remove the leftover render directory %s", path)
        return 0
    log.info("removed the render directory of a dead attempt: %s (%d bytes)", path, size)
    return size


def _size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed meanwhile
    return total
