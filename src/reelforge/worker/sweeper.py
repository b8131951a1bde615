"""Returns jobs with expired leases to the queue; fails them after ``max_attempts``."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from reelforge.store.queue import SweepResult, WorkQueue

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, queue: WorkQueue, interval: float, max_attempts: int) -> None:
        self._queue = queue
        self._interval = interval
        self._max_attempts = max_attempts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def sweep_once(self) -> SweepResult:
        result = self._queue.sweep_expired(self._max_attempts)
        for job_id in result.requeued:
            log.warning("job %s: its worker stopped renewing the lease; requeued", job_id)
        for job_id in result.failed:
            log.error("job %s: failed after %d lost attempts", job_id, self._max_attempts)
        return result

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sweep_once()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("sweep failed (%s); will retry", exc)
