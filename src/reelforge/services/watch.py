"""JobWatchHub: one reader of job changes per API process, fanned out to every live stream.

Each event stream (``GET .../events``) registers a ``Watch`` on its job. One background thread,
not one per stream, reads the watched jobs' rows in one query every ``interval`` seconds, or at
once when job events were recorded (in this process, or in another one: the PostgreSQL listener
relays their NOTIFY into ``Signals``), then the new events of the jobs whose row changed in a
second query, and posts both to each watch of those jobs. The database cost is therefore
O(ticks), not O(streams x ticks); queue estimates are likewise computed once per queued job.

Events are read per job after the last ``seq`` read for that job. A job's events commit in
``seq`` order (each is written by the transaction that updates the job's row, and those
serialize on the row), so a per-job cursor cannot skip one; a single global cursor could, since
two jobs' transactions may commit out of ``seq`` order on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from reelforge.core.runtime import Runtime
from reelforge.domain.events import JobEvent
from reelforge.domain.jobs import Job, Status
from reelforge.services.estimates import NO_ESTIMATE, Estimate
from reelforge.store.database import DatabaseError, describe

log = logging.getLogger(__name__)

Estimator = Callable[[Job], Estimate]
ESTIMATE_REFRESH_SECONDS = 5.0
"""Queued jobs' estimates are recomputed when any job event was recorded, else this often."""


@dataclass(frozen=True, slots=True)
class JobUpdate:
    """What changed for one job since the watch last took an update."""

    job: Job | None
    """The latest row; None when the job is gone (deleted)."""
    events: tuple[JobEvent, ...]
    estimate: Estimate


@dataclass(frozen=True, slots=True)
class Opening:
    """What a stream starts from: the job, its recorded events after the client's
    ``Last-Event-ID`` (none without one), and the job's last event ``seq``."""

    job: Job
    replay: tuple[JobEvent, ...]
    last_seq: int
    estimate: Estimate


class Watch:
    """One stream's mailbox: the hub thread posts, the stream's event loop awaits. Posts
    coalesce (events accumulate, the latest row wins), so a slow client never queues rows."""

    def __init__(self, job_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.job_id = job_id
        self._loop = loop
        self._wake = asyncio.Event()
        self._lock = threading.Lock()
        self._pending: JobUpdate | None = None

    def post(self, update: JobUpdate) -> bool:
        """Called by the hub thread; False when the stream's loop is gone."""
        with self._lock:
            if self._pending is not None:
                events = self._pending.events + update.events
                update = replace(update, events=events)
            self._pending = update
        try:
            self._loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop was closed under us
            return False
        return True

    async def next(self, timeout: float) -> JobUpdate | None:
        """The update posted since the last call, waiting up to ``timeout`` s for one."""
        if self._pending is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
        with self._lock:
            update, self._pending = self._pending, None
        return update


class JobWatchHub:
    def __init__(self, runtime: Runtime, estimate: Estimator, interval: float = 0.5) -> None:
        self._jobs = runtime.store
        self._events = runtime.database.events
        self._signals = runtime.signals
        self._estimate = estimate
        self._interval = interval
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}
        self._cursors: dict[str, int] = {}
        self._rows: dict[str, Job | None] = {}
        self._estimates: dict[str, Estimate] = {}
        self._estimated_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-watch-hub", daemon=True)

    # -- lifecycle (the app's lifespan) ---------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # -- streams ---------------------------------------------------------------------------------

    def watch(self, job_id: str) -> Watch:
        """Register a watch on ``job_id`` for the running event loop; pair with ``unwatch``."""
        watch = Watch(job_id, asyncio.get_running_loop())
        with self._lock:
            self._watches.setdefault(job_id, set()).add(watch)
        return watch

    def unwatch(self, watch: Watch) -> None:
        with self._lock:
            watches = self._watches.get(watch.job_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[watch.job_id]

    def watching(self) -> int:
        """Registered watches (streams open now)."""
        with self._lock:
            return sum(len(w) for w in self._watches.values())

    def open(self, job_id: str, owner: str | None, after_seq: int | None) -> Opening:
        """Blocking (run it in a thread): the job and, with ``after_seq``, its events after it.
        Raises ``JobNotFound`` (also for another owner's job). Register the watch first, so
        nothing recorded between this read and the hub's next one is missed."""
        events = self._events.for_job(job_id)
        job = self._jobs.get_job(job_id, owner)
        last_seq = events[-1].seq if events else 0
        replay = tuple(e for e in events if after_seq is not None and e.seq > after_seq)
        return Opening(job, replay, last_seq, self._estimate_for(job))

    # -- the reader thread ----------------------------------------------------------------------

    def _run(self) -> None:
        woken = True
        while not self._stop.is_set():
            # The mark comes before the reads: an event recorded during them wakes the next wait.
            mark = self._signals.events_mark()
            try:
                self.tick(refresh_estimates=woken)
            except DatabaseError as exc:
                log.warning(
                    "event streams: reading job changes failed (%s); retrying", describe(exc)
                )
            woken = self._signals.wait_for_events(mark, self._interval)

    def tick(self, *, refresh_estimates: bool = True) -> None:
        """One pass: read the watched jobs, post what changed. Public for tests."""
        with self._lock:
            job_ids = list(self._watches)
        self._forget_unwatched(set(job_ids))
        if not job_ids:
            return
        rows = self._jobs.get_jobs(job_ids)
        changed = {
            i for i in job_ids if i not in self._rows or _differs(self._rows[i], rows.get(i))
        }
        events = self._new_events(sorted(changed))
        if events:
            # Events may have committed after the rows were read: re-read those jobs, so a
            # stream never sees an event newer than the row it comes with.
            fresh = self._jobs.get_jobs(list(events))
            rows.update(fresh)
            for gone in set(events) - set(fresh):
                rows.pop(gone, None)
        estimated = self._refresh_estimates(rows, changed, refresh_estimates)
        for job_id in job_ids:
            job_events = events.get(job_id, ())
            if job_id in changed or job_events or job_id in estimated:
                estimate = self._estimates.get(job_id, NO_ESTIMATE)
                self._post(job_id, JobUpdate(rows.get(job_id), job_events, estimate))
        self._rows.update({i: rows.get(i) for i in job_ids})

    def _new_events(self, job_ids: list[str]) -> dict[str, tuple[JobEvent, ...]]:
        if not job_ids:
            return {}
        after = min(self._cursors.get(i, 0) for i in job_ids)
        found: dict[str, list[JobEvent]] = {}
        for event in self._events.since(after, job_ids):
            if event.seq > self._cursors.get(event.job_id, 0):
                found.setdefault(event.job_id, []).append(event)
                self._cursors[event.job_id] = event.seq
        return {job_id: tuple(events) for job_id, events in found.items()}

    def _refresh_estimates(self, rows: dict[str, Job], changed: set[str], woken: bool) -> set[str]:
        """Recompute the estimates of jobs that changed, and of every job when events were
        recorded (a job ahead started or left) or now and then; the ids whose estimate moved."""
        now = time.monotonic()
        everything = woken or now - self._estimated_at >= ESTIMATE_REFRESH_SECONDS
        if everything:
            self._estimated_at = now
        moved = set()
        for job_id, job in rows.items():
            if not (everything or job_id in changed or job_id not in self._estimates):
                continue
            estimate = self._estimate_for(job)
            if self._estimates.get(job_id, NO_ESTIMATE) != estimate:
                moved.add(job_id)
            self._estimates[job_id] = estimate
        return moved

    def _estimate_for(self, job: Job) -> Estimate:
        return NO_ESTIMATE if job.status.is_terminal else self._estimate(job)

    def _post(self, job_id: str, update: JobUpdate) -> None:
        with self._lock:
            watches = list(self._watches.get(job_id, ()))
        for watch in watches:
            if not watch.post(update):
                self.unwatch(watch)

    def _forget_unwatched(self, watched: set[str]) -> None:
        for state in (self._cursors, self._rows, self._estimates):
            for job_id in [i for i in state if i not in watched]:
                del state[job_id]


def _differs(before: Job | None, after: Job | None) -> bool:
    if before is None or after is None:
        return before is not after
    return (before.status, before.progress, before.stage, before.updated_at) != (
        after.status,
        after.progress,
        after.stage,
        after.updated_at,
    )


def job_as_of(job: Job, event: JobEvent) -> Job:
    """The job as ``event`` recorded it (status, progress, error, time), from its payload:
    a replayed ``video.started`` shows the job starting, not as it is now."""
    data = json.loads(event.payload)["data"]
    status = Status(data["status"])
    error = data.get("error") or {}
    terminal = status.is_terminal
    return replace(
        job,
        status=status,
        progress=float(data.get("progress", 0)) / 100,
        updated_at=event.created_at,
        completed_at=event.created_at if terminal else None,
        error_code=error.get("code"),
        error_message=error.get("message"),
        outputs=job.outputs if status is Status.COMPLETED else None,
        stage=job.stage if status is Status.RUNNING and job.status is Status.RUNNING else None,
    )
