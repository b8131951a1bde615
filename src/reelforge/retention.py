"""Retention: a job's media lives until its ``expires_at`` (creation + ``retention_seconds``,
shown to OpenAI clients); then this sweeper deletes its files and its row, so an expired video
answers 404 on every surface. Expired idempotency records go in the same pass.

Each API process runs one sweeper thread; deleting is idempotent, so replicas may overlap.
Files go before the row: a crash in between leaves a row the next pass finds again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

import sqlalchemy as sa

from reelforge.domain.errors import JobNotFound
from reelforge.periodic import PeriodicThread
from reelforge.runtime import Runtime
from reelforge.storage.base import BlobStore
from reelforge.store.idempotency import IdempotencyStore

log = logging.getLogger(__name__)


def remove_job_files(blobs: BlobStore, job_id: str) -> None:
    """Delete a job's outputs (``jobs/<id>``) and inputs (``inputs/<id>``)."""
    blobs.delete_prefix(f"jobs/{job_id}")
    blobs.delete_prefix(f"inputs/{job_id}")


class RetentionSweeper:
    def __init__(self, runtime: Runtime, idempotency: IdempotencyStore, interval: float) -> None:
        self.runtime = runtime
        self.idempotency = idempotency
        self.interval = interval
        self._thread = PeriodicThread(
            "retention", interval, self.sweep_once, retry_on=(sa.exc.SQLAlchemyError, OSError)
        )

    def sweep_once(self, now: datetime | None = None) -> int:
        """Delete every expired job's files and row; returns how many jobs were removed."""
        store = self.runtime.store
        now = now or store.clock()
        removed = 0
        while batch := store.expired_jobs(now, limit=100):
            for job in batch:
                remove_job_files(self.runtime.blobs, job.id)
                # JobNotFound: a replica or the owner deleted it meanwhile.
                with contextlib.suppress(JobNotFound):
                    store.delete_job(job.id)
                removed += 1
        self.idempotency.purge_expired(now)
        if removed:
            log.info("retention: deleted %d expired job(s) and their media", removed)
        return removed

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()
