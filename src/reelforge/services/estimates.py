"""Queue position and time estimates for a job, from measured throughput (never a constant).

**Position** is 1 + the queued jobs a worker would claim before this one (the store's
``claim_order``), so 1 means "next to start".

**Throughput** is measured per (engine, model): compute seconds per second of video, the median
of ``(completed_at - started_at) / seconds`` over the last ``SAMPLES`` completed jobs created in
the last 24 h. With no measurement for a model there is no estimate (None), never a guess. A
completed job's ``engine`` column names the engine that ran it; a queued or running job has no
engine yet, so it is looked up under this process's ``settings.engine``.

**Parallelism** is the set of jobs running now (at least one slot). We chose it over counting
live workers' slots because it needs no worker registry and is right exactly when an estimate
matters: while jobs wait in the queue every free slot claims one at once, so the running jobs
are the live slots. (When the queue is empty, a new job starts at once on any idle slot, and the
estimate errs late by at most the shortest running job.)

**Start** of a queued job: each running slot frees after its job's remaining time; the queued
work ahead of the job then fills the freed slots (water-filling). With one slot that is simply
``now + remaining of the running job + work ahead``. **Completion** is start + the job's own
expected duration. A running job's remaining time blends two figures, weighted by progress:
extrapolation from its own progress and elapsed time (trusted more as progress grows), and the
measured throughput minus elapsed time.

Per-model throughput and the running jobs are cached for ``cache_seconds``, so one status read
costs at most one extra indexed query (the count of queued work ahead).
"""

from __future__ import annotations

import statistics
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Job, Status
from reelforge.store.stats import CompletedRun, QueuedAhead, RunningJob
from reelforge.store.types import utcnow

SAMPLES = 20
"""Completed jobs per (engine, model) whose median makes the throughput figure."""


@dataclass(frozen=True, slots=True)
class Estimate:
    queue_position: int | None
    """How many queued jobs start before this one (0 = next); None unless queued."""
    estimated_start_at: datetime | None
    """None when running or terminal, or when nothing has been measured yet."""
    estimated_completion_at: datetime | None
    """None when terminal, or when nothing has been measured yet."""


NO_ESTIMATE = Estimate(None, None, None)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What every estimate shares, read at most once per ``cache_seconds``."""

    taken_at: datetime
    throughput: dict[tuple[str | None, str], float]
    running: list[RunningJob]


class QueueEstimator:
    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Callable[[], datetime] = utcnow,
        cache_seconds: float = 2.0,
    ) -> None:
        self._stats = runtime.database.stats
        self._engine_name = runtime.settings.engine
        self._clock = clock
        self._cache_for = timedelta(seconds=cache_seconds)
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def estimate(self, job: Job) -> Estimate:
        """Position and times for ``job``; one indexed query for a queued job, none else."""
        if job.status is Status.QUEUED:
            return self._estimate_queued(job, self._stats.queued_ahead(job))
        if job.status is Status.RUNNING:
            snapshot, now = self._current()
            remaining = _remaining(
                RunningJob(job.spec.model, job.spec.seconds, job.progress, job.started_at),
                self._per_second(snapshot, job.spec.model),
                now,
            )
            completion = None if remaining is None else now + timedelta(seconds=remaining)
            return Estimate(None, None, completion)
        return NO_ESTIMATE

    def throughput(self) -> dict[tuple[str | None, str], float]:
        """Measured compute seconds per video second, by (engine, model)."""
        return dict(self._current()[0].throughput)

    def wait_for_new_job(self) -> float | None:
        """Seconds a job enqueued now would wait before it starts (None: not measured)."""
        snapshot, now = self._current()
        return self._start_delay(snapshot, now, self._stats.queued_work())

    # -- internals -----------------------------------------------------------------------------

    def _estimate_queued(self, job: Job, ahead: QueuedAhead) -> Estimate:
        snapshot, now = self._current()
        position = ahead.count  # 0 = next, as fal's queue_position
        delay = self._start_delay(snapshot, now, ahead)
        if delay is None:
            return Estimate(position, None, None)
        start = now + timedelta(seconds=delay)
        per_second = self._per_second(snapshot, job.spec.model)
        if per_second is None:
            return Estimate(position, start, None)
        return Estimate(position, start, start + timedelta(seconds=per_second * job.spec.seconds))

    def _start_delay(self, snapshot: _Snapshot, now: datetime, ahead: QueuedAhead) -> float | None:
        slots: list[float] = []
        for running in snapshot.running:
            remaining = _remaining(running, self._per_second(snapshot, running.model), now)
            if remaining is None:
                return None
            slots.append(remaining)
        work = 0.0
        for model, seconds in ahead.seconds_by_model.items():
            per_second = self._per_second(snapshot, model)
            if per_second is None:
                return None
            work += per_second * seconds
        return fill_slots(slots, work)

    def _per_second(self, snapshot: _Snapshot, model: str) -> float | None:
        return snapshot.throughput.get((self._engine_name, model))

    def _current(self) -> tuple[_Snapshot, datetime]:
        now = self._clock()
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or not (
                snapshot.taken_at <= now < snapshot.taken_at + self._cache_for
            ):
                snapshot = _Snapshot(
                    now,
                    median_throughput(self._stats.recent_completions(now)),
                    self._stats.running(),
                )
                self._snapshot = snapshot
        return snapshot, now


def median_throughput(runs: Iterable[CompletedRun]) -> dict[tuple[str | None, str], float]:
    """Median compute seconds per video second of the newest ``SAMPLES`` runs of each
    (engine, model); ``runs`` come newest first."""
    samples: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    for run in runs:
        bucket = samples[(run.engine, run.model)]
        if len(bucket) < SAMPLES:
            bucket.append(max(run.compute_seconds, 0.0) / run.seconds)
    return {key: statistics.median(values) for key, values in samples.items()}


def _remaining(running: RunningJob, per_second: float | None, now: datetime) -> float | None:
    """Seconds until a running job finishes: its own extrapolation weighted by its progress,
    the measured figure by the rest; None when neither is known."""
    elapsed = 0.0
    if running.started_at is not None:
        elapsed = max((now - running.started_at).total_seconds(), 0.0)
    measured = None if per_second is None else max(per_second * running.seconds - elapsed, 0.0)
    progress = min(max(running.progress, 0.0), 1.0)
    if progress <= 0.0 or elapsed <= 0.0:
        return measured
    extrapolated = elapsed / progress - elapsed
    if measured is None:
        return extrapolated
    return progress * extrapolated + (1.0 - progress) * measured


def fill_slots(slot_free_in: list[float], work: float) -> float:
    """When a job waiting behind ``work`` seconds of queued compute starts: each slot becomes
    free after its ``slot_free_in`` seconds, then every free slot works off the queue
    (water-filling). No slots counts as one slot free now."""
    slots = sorted(slot_free_in) or [0.0]
    freed = 0.0
    for index, free_in in enumerate(slots):
        freed += free_in
        start = (work + freed) / (index + 1)
        if index + 1 == len(slots) or start <= slots[index + 1]:
            return max(start, free_in)
    raise AssertionError("unreachable: the last slot always returns")
