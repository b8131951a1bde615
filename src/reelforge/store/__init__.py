"""Persistence: job rows on SQLite or PostgreSQL, and the queue built on them."""

from reelforge.store.db import check_connection, create_db_engine, migrate
from reelforge.store.jobs import Attempt, JobStore
from reelforge.store.queue import SweepResult, WorkQueue
from reelforge.store.signals import Signals

__all__ = [
    "Attempt",
    "JobStore",
    "Signals",
    "SweepResult",
    "WorkQueue",
    "check_connection",
    "create_db_engine",
    "migrate",
]
