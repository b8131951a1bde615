"""Database: the open database and its one unit of work.

Everything that reads or writes rows goes through the repositories held here (``jobs``,
``queue``, ``events``, ``keys``, ``idempotency``, ``webhooks``, ``stats``, ``quotas``,
``workers``); no module outside ``reelforge.store`` sees the SQLAlchemy engine. ``enqueue``
is the only way a job enters the queue: the key's limits checked under its lock, then the job
row, its idempotency record and its ``video.queued`` event (the outbox) commit in one
transaction, then the workers are woken once.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from reelforge.domain.errors import IdempotencyConflict
from reelforge.domain.events import Surface
from reelforge.domain.jobs import Job
from reelforge.domain.quotas import KeyLimits
from reelforge.domain.specs import GenerationSpec
from reelforge.store.db import WRITE, check_connection, create_db_engine, migrate
from reelforge.store.events import EventLog
from reelforge.store.idempotency import IdempotencyKey, IdempotencyStore, StoredResponse
from reelforge.store.jobs import Clock, JobStore
from reelforge.store.keys import KeyStore
from reelforge.store.pg_listener import PgListener
from reelforge.store.queue import WorkQueue
from reelforge.store.quotas import QuotaStore
from reelforge.store.signals import Signals
from reelforge.store.stats import QueueStats
from reelforge.store.types import utcnow
from reelforge.store.usage import UsageLedger
from reelforge.store.webhooks import WebhookStore
from reelforge.store.workers import WorkerRegistry

DatabaseError = sa.exc.SQLAlchemyError
"""What a database failure raises (connection lost, server down): callers outside the store
catch this name instead of importing SQLAlchemy."""

DEFAULT_IDEMPOTENCY_TTL_SECONDS = 24 * 3600
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o")
UNAVAILABLE_RETRY_SECONDS = 2
"""How long a client is told to wait (``Retry-After``) when the database cannot be reached."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be used right now (server down or restarting,
    connection lost, a connect, pool or statement timeout, SQLite busy), so retrying later may
    succeed; anything else (a bad query) is a bug, not an outage."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.OperationalError) and isinstance(exc.orig, sqlite3.Error):
        # SQLite also says OperationalError for a missing table (a bug); only these are waits.
        return any(word in str(exc.orig).lower() for word in _SQLITE_UNAVAILABLE)
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError)


def describe(exc: BaseException) -> str:
    """The first line of a database error's own message, for a one-line log entry: the full
    chain (SQL, parameters, the driver's traceback) says nothing more about an outage."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True, slots=True)
class IdempotentReply:
    """The key a create was claimed under (with the claim's token), and how to render the
    response stored with it."""

    key: IdempotencyKey
    token: str
    render: Callable[[Job], StoredResponse]


class Database:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        signals: Signals | None = None,
        clock: Clock = utcnow,
        idempotency_ttl_seconds: int = DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    ) -> None:
        self._engine = engine
        self.signals = signals or Signals()
        self.events = EventLog(engine, clock)
        self.jobs = JobStore(engine, self.signals, self.events, clock)
        self.queue = WorkQueue(engine, self.jobs)
        self.keys = KeyStore(engine, clock)
        self.idempotency = IdempotencyStore(engine, idempotency_ttl_seconds, clock=clock)
        self.webhooks = WebhookStore(engine, clock)
        self.stats = QueueStats(engine)
        self.quotas = QuotaStore(engine, clock)
        self.usage = UsageLedger(engine)
        self.workers = WorkerRegistry(engine, clock)
        self._listener: PgListener | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Clock = utcnow,
        idempotency_ttl_seconds: int = DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    ) -> Database:
        """Connect (``ConfigError`` in one line when it cannot), migrate to head, and on
        PostgreSQL listen for other processes' enqueues and cancels."""
        engine = create_db_engine(url)
        try:
            check_connection(engine)
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        database = cls(engine, clock=clock, idempotency_ttl_seconds=idempotency_ttl_seconds)
        if engine.dialect.name == "postgresql":
            database._listener = PgListener(engine, database.signals)
            database._listener.start()
        return database

    def enqueue(
        self,
        spec: GenerationSpec,
        owner: str | None = None,
        *,
        job_id: str | None = None,
        remixed_from: str | None = None,
        retention: timedelta | None = None,
        idempotency: IdempotentReply | None = None,
        webhook_url: str | None = None,
        surface: Surface | None = None,
        limits: KeyLimits | None = None,
        request_id: str | None = None,
    ) -> Job:
        """Queue a job, kept ``retention`` after its creation (None: until deleted), with its
        ``video.queued`` event; with ``idempotency``, store its rendered response under the
        claimed key in the same transaction (``IdempotencyConflict`` when another request took
        the key). ``webhook_url`` (already checked) also receives the job's terminal events;
        ``surface`` (the creating API surface) decides which id the events carry. With
        ``limits`` (the owner's effective ones), ``QuotaExceeded`` when the job would pass its
        queue cap or a budget: checked under the key's lock, so no burst overshoots.
        ``request_id``: the HTTP request's id, kept with the job for its log lines."""
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if limits is not None and owner is not None:
                self.quotas.check_admission(conn, owner, spec, limits)
            job = self.jobs.insert_queued(
                conn,
                spec,
                owner,
                job_id=job_id or str(uuid.uuid4()),
                remixed_from=remixed_from,
                retention=retention,
                webhook_url=webhook_url,
                surface=surface,
                request_id=request_id,
            )
            if idempotency is not None:
                self._complete(conn, idempotency, job)
        self.signals.job_enqueued()
        self.signals.events_recorded()
        return job

    def _complete(self, conn: sa.Connection, reply: IdempotentReply, job: Job) -> None:
        if not self.idempotency.complete(conn, reply.key, reply.token, reply.render(job)):
            # Our claim expired and another request took the key: it owns the key now.
            raise IdempotencyConflict(
                "another request with this Idempotency-Key took over while this one ran; retry "
                "to get its result",
                reused=False,
            )

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self._engine.dispose()
