"""One thread renews the leases of every job this worker runs and relays cancel flags; another
records their progress at least once a second, so bars and event streams move smoothly.

Progress is coalesced: the engine sets it in memory at every step (cheap), and the progress
thread writes it only when it changed, one short fenced UPDATE per running job per interval.
"""

from __future__ import annotations

import logging
import threading

from reelforge.core.periodic import PeriodicThread
from reelforge.domain.errors import LeaseLost
from reelforge.store.database import DatabaseError, describe
from reelforge.store.queue import WorkQueue
from reelforge.worker.control import RunControl

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self,
        queue: WorkQueue,
        interval: float,
        lease_seconds: float,
        progress_interval: float = 1.0,
    ) -> None:
        self._queue = queue
        self._lease_seconds = lease_seconds
        self._runs: dict[str, RunControl] = {}
        self._written: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._thread = PeriodicThread("heartbeat", interval, self.beat_all)
        self._progress = PeriodicThread("progress", progress_interval, self.flush_progress)

    def start(self) -> None:
        self._thread.start()
        self._progress.start()

    def stop(self) -> None:
        self._progress.stop()
        self._thread.stop()

    def track(self, run: RunControl) -> None:
        with self._lock:
            self._runs[run.job_id] = run

    def untrack(self, run: RunControl) -> None:
        with self._lock:
            self._runs.pop(run.job_id, None)
            self._written.pop(run.job_id, None)

    def get(self, job_id: str) -> RunControl | None:
        with self._lock:
            return self._runs.get(job_id)

    def runs(self) -> list[RunControl]:
        with self._lock:
            return list(self._runs.values())

    def beat_all(self) -> None:
        for run in self.runs():
            self._beat(run)

    def flush_progress(self) -> None:
        """Write the progress of each run whose progress or stage changed since last written."""
        for run in self.runs():
            with self._lock:
                unchanged = self._written.get(run.job_id) == (run.progress, run.stage)
            if not unchanged:
                self._write(run, renew=False)

    def _cancel_if_gone(self, run: RunControl) -> None:
        """A lease lost because the job was deleted (or cancelled meanwhile) is a cancel too,
        so the engine stops what it started elsewhere instead of leaving it to another
        attempt that will never come."""
        try:
            if self._queue.store.is_cancel_requested(run.job_id):
                run.cancel()
        except DatabaseError:
            pass  # the cancel is also polled between steps

    def _beat(self, run: RunControl) -> None:
        self._write(run, renew=True)

    def _write(self, run: RunControl, *, renew: bool) -> None:
        progress, stage = run.progress, run.stage
        try:
            if renew:
                cancel = self._queue.heartbeat(run.lease, progress, self._lease_seconds, stage)
            else:
                cancel = self._queue.record_progress(run.lease, progress, stage)
            if cancel:
                run.cancel()
            with self._lock:
                if run.job_id in self._runs:
                    self._written[run.job_id] = (progress, stage)
        except LeaseLost:
            log.warning("job %s: lease lost; stopping this attempt", run.job_id)
            run.lose()
            self._cancel_if_gone(run)
        except DatabaseError as exc:
            # The lease may still be valid: try again next beat; the sweeper decides otherwise.
            log.warning("job %s: heartbeat failed (%s); retrying", run.job_id, describe(exc))
