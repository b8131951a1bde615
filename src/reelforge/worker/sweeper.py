"""Returns jobs with expired leases to the queue (failing them after ``max_attempts``), then
removes the render directories of attempts that are dead (``reelforge.worker.leftovers``)."""

from __future__ import annotations

import logging

from reelforge.core.periodic import PeriodicThread
from reelforge.store.database import DatabaseError, describe
from reelforge.store.queue import SweepResult, WorkQueue
from reelforge.worker.leftovers import LeftoverSweeper

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        queue: WorkQueue,
        interval: float,
        max_attempts: int,
        *,
        leftovers: LeftoverSweeper | None = None,
    ) -> None:
        self._queue = queue
        self._max_attempts = max_attempts
        self._leftovers = leftovers
        self._thread = PeriodicThread(
            "sweeper", interval, self.sweep_once, retry_on=(DatabaseError, OSError)
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
        # After the requeue: an attempt swept just now has a dead directory already.
        if self._leftovers is not None:
            self._leftovers.sweep()
        return result

    def sweep_leftovers(self) -> None:
        """One sweep of render directories (at worker start); a database outage only defers
        it to the periodic sweep."""
        if self._leftovers is None:
            return
        try:
            self._leftovers.sweep()
        except (DatabaseError, OSError) as exc:
            log.warning("leftover render directories not swept yet: %s", describe(exc))
