"""What the operator asks: can this service do work now, and what is every worker doing?

``readiness`` is the rule ``/readyz`` answers with; ``fleet_status`` the picture behind
``/v1/admin/status``. Both read the database (jobs by status, the worker registry) so every API
replica answers alike, whether its workers are embedded or an external fleet.

Ready means: the database answers; embedded workers (``serve`` without ``--no-workers``) have
their engine loaded; and queued jobs have a worker to run them: a worker whose registry row was
renewed within ``worker_stale_seconds`` and whose engine is loaded. Nothing queued: ready
without any worker (an API-only node in front of a fleet that scales to zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.store.workers import WorkerRecord

EmbeddedState = Literal["loaded", "loading", "failed", "external"]
SHOWN_FOR = timedelta(days=1)
"""Workers not seen for this long are left out of the fleet picture."""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reason: str | None
    workers_alive: int
    workers_able: int


@dataclass(frozen=True, slots=True)
class FleetStatus:
    now: datetime
    counts: dict[Status, int]
    oldest_queued_at: datetime | None
    workers: list[WorkerRecord]
    stale_after: timedelta
    readiness: Readiness


def stale_after(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.worker_stale_seconds)


def readiness(
    runtime: Runtime,
    queued: int,
    workers: list[WorkerRecord],
    embedded: EmbeddedState,
    embedded_error: str | None = None,
) -> Readiness:
    """Whether the service can do work, and if not, why in one line (the database is
    reachable: the caller checked)."""
    now, stale = runtime.store.clock(), stale_after(runtime)
    alive = [w for w in workers if w.alive(now, stale)]
    able = [w for w in alive if w.can_run_jobs(now, stale)]
    reason = _embedded_reason(embedded, embedded_error)
    if reason is None and queued and not able:
        reason = _no_worker_reason(queued, alive, stale)
    return Readiness(reason is None, reason, len(alive), len(able))


def _embedded_reason(embedded: EmbeddedState, error: str | None) -> str | None:
    if embedded == "loading":
        return "the embedded worker's engine is still loading"
    if embedded == "failed":
        return f"the embedded worker's engine failed: {error or 'unknown error'}"
    return None


def _no_worker_reason(queued: int, alive: list[WorkerRecord], stale: timedelta) -> str:
    jobs = f"{queued} job{'s' if queued != 1 else ''} queued"
    if not alive:
        return (
            f"{jobs} and no worker seen in the last {stale.total_seconds():g} s; start one "
            "(`reelforge worker`, or `reelforge serve` without --no-workers)"
        )
    states = ", ".join(
        f"{w.name}: {w.state}" + (f" ({w.error})" if w.error else "") for w in alive[:5]
    )
    return f"{jobs} and no live worker has its engine loaded ({states})"


def embedded_state(worker: object | None) -> tuple[EmbeddedState, str | None]:
    """The embedded workers' engine state (``external`` without embedded workers)."""
    if worker is None:
        return "external", None
    error: str | None = getattr(worker, "engine_error", None)
    if getattr(worker, "ready", False):
        return "loaded", error
    return ("failed" if error else "loading"), error


def fleet_status(
    runtime: Runtime, embedded: EmbeddedState, embedded_error: str | None = None
) -> FleetStatus:
    """Jobs by status, the oldest queued job, the workers seen in the last day, readiness."""
    database = runtime.database
    now = runtime.store.clock()
    counts = runtime.store.count_by_status()
    workers = database.workers.list(seen_since=now - SHOWN_FOR)
    ready = readiness(runtime, counts[Status.QUEUED], workers, embedded, embedded_error)
    return FleetStatus(
        now=now,
        counts=counts,
        oldest_queued_at=database.stats.oldest_queued_at(),
        workers=workers,
        stale_after=stale_after(runtime),
        readiness=ready,
    )


def recent_workers(runtime: Runtime) -> list[WorkerRecord]:
    """The workers that may count for readiness: those seen within the staleness window."""
    return runtime.database.workers.list(seen_since=runtime.store.clock() - stale_after(runtime))
