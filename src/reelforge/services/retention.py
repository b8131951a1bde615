"""Retention: a job's media lives until its ``expires_at`` (creation + ``retention_seconds``,
shown to OpenAI clients); then this sweeper deletes its files and its row, so an expired video
answers 404 on every surface. Expired idempotency records go in the same pass, and so do job
events and settled webhook deliveries older than the retention period (an event a delivery
still waits for is kept).

Each API process runs one sweeper thread and ``reelforge generate`` one pass at start;
deleting is idempotent, so replicas may overlap.
Files go before the row: a crash in between leaves a row the next pass finds again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from reelforge.core.periodic import PeriodicThread
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import JobNotFound
from reelforge.store.database import DatabaseError

log = logging.getLogger(__name__)


class RetentionSweeper:
    def __init__(self, runtime: Runtime, interval: float) -> None:
        self.runtime = runtime
        self.interval = interval
        self._thread = PeriodicThread(
            "retention", interval, self.sweep_once, retry_on=(DatabaseError, OSError)
        )

    def sweep_once(self, now: datetime | None = None) -> int:
        """Delete every expired job's files and row; returns how many jobs were removed."""
        store = self.runtime.store
        now = now or store.clock()
        removed = 0
        while batch := store.expired_jobs(now, limit=100):
            for job in batch:
                self.runtime.blobs.remove_job(job.id)
                # JobNotFound: a replica or the owner deleted it meanwhile.
                with contextlib.suppress(JobNotFound):
                    store.delete_job(job.id)
                removed += 1
        self.runtime.idempotency.purge_expired(now)
        retention = timedelta(seconds=self.runtime.settings.retention_seconds)
        self.runtime.database.events.prune(now - retention)
        if removed:
            log.info("retention: deleted %d expired job(s) and their media", removed)
        return removed

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()
