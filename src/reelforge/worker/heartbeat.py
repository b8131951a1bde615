"""One thread renews the leases of every job this worker runs and relays cancel flags."""

from __future__ import annotations

import logging
import threading

from reelforge.core.periodic import PeriodicThread
from reelforge.domain.errors import LeaseLost
from reelforge.store.database import DatabaseError
from reelforge.store.queue import WorkQueue
from reelforge.worker.control import RunControl

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, queue: WorkQueue, interval: float, lease_seconds: float) -> None:
        self._queue = queue
        self._lease_seconds = lease_seconds
        self._runs: dict[str, RunControl] = {}
        self._lock = threading.Lock()
        self._thread = PeriodicThread("heartbeat", interval, self.beat_all)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def track(self, run: RunControl) -> None:
        with self._lock:
            self._runs[run.job_id] = run

    def untrack(self, run: RunControl) -> None:
        with self._lock:
            self._runs.pop(run.job_id, None)

    def get(self, job_id: str) -> RunControl | None:
        with self._lock:
            return self._runs.get(job_id)

    def runs(self) -> list[RunControl]:
        with self._lock:
            return list(self._runs.values())

    def beat_all(self) -> None:
        for run in self.runs():
            self._beat(run)

    def _beat(self, run: RunControl) -> None:
        try:
            if self._queue.heartbeat(run.lease, run.progress, self._lease_seconds):
                run.cancel()
        except LeaseLost:
            log.warning("job %s: lease lost; stopping this attempt", run.job_id)
            run.lose()
        except DatabaseError as exc:
            # The lease may still be valid: try again next beat; the sweeper decides otherwise.
            log.warning("job %s: heartbeat failed (%s); retrying", run.job_id, exc)
