"""Persistence: job rows on SQLite or PostgreSQL, and the queue built on them.

``Database.open(url)`` is the entry: it owns the SQLAlchemy engine (nothing outside this
package touches it), the repositories (jobs, queue, keys, idempotency records) and the unit of
work that enqueues a job.
"""

from reelforge.store.database import Database, DatabaseError, IdempotentReply
from reelforge.store.idempotency import (
    ClaimResult,
    IdempotencyKey,
    IdempotencyStore,
    StoredResponse,
)
from reelforge.store.jobs import Attempt, JobStore
from reelforge.store.keys import ApiKey, KeyStore, NewKey
from reelforge.store.queue import SweepResult, WorkQueue
from reelforge.store.signals import Signals

__all__ = [
    "ApiKey",
    "Attempt",
    "ClaimResult",
    "Database",
    "DatabaseError",
    "IdempotencyKey",
    "IdempotencyStore",
    "IdempotentReply",
    "JobStore",
    "KeyStore",
    "NewKey",
    "Signals",
    "StoredResponse",
    "SweepResult",
    "WorkQueue",
]
