"""Returns jobs with expired leases to the queue; fails them after ``max_attempts``."""

from __future__ import annotations

import logging

from reelforge.core.periodic import PeriodicThread
from reelforge.store.database import DatabaseError
from reelforge.store.queue import SweepResult, WorkQueue

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, queue: WorkQueue, interval: float, max_attempts: int) -> None:
        self._queue = queue
        self._max_attempts = max_attempts
        self._thread = PeriodicThread(
            "sweeper", interval, self.sweep_once, retry_on=(DatabaseError,)
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def sweep_once(self) -> SweepResult:
        result = self._queue.sweep_expired(self._max_attempts)
        for job_id in result.requeued:
            log.warning("job %s: its worker stopped renewing the lease; requeued", job_id)
        for job_id in result.failed:
            log.error("job %s: failed after %d lost attempts", job_id, self._max_attempts)
        return result
