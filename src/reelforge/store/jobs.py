"""JobStore: the one place that reads and writes job rows. The database is the queue.

Every write a worker makes is fenced by its lease token: the UPDATE carries
``WHERE lease_token = :token AND status = 'running'``, so a worker whose lease expired (a
"zombie") changes nothing once the sweeper or another worker has moved on. A zero row count
raises ``LeaseLost``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from reelforge.domain.errors import JobFinished, JobNotFound
from reelforge.domain.events import EventType
from reelforge.domain.jobs import Job, JobOutputs, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.store.db import WRITE
from reelforge.store.fairness import next_fair_tag
from reelforge.store.signals import Signals
from reelforge.store.tables import job_attempts, jobs
from reelforge.store.types import utcnow
from reelforge.store.usage import add_usage, record_deletion, record_outcome, usage_key

if TYPE_CHECKING:
    from reelforge.store.events import EventLog

Clock = Callable[[], datetime]
_ACTIVE = (Status.QUEUED.value, Status.RUNNING.value)


@dataclass(frozen=True, slots=True)
class Attempt:
    attempt: int
    lease_token: str
    worker: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    compute_seconds: float | None = None
    """Seconds it held a worker slot; None while it runs."""


class JobStore:
    def __init__(
        self, engine: sa.Engine, signals: Signals, events: EventLog, clock: Clock = utcnow
    ) -> None:
        self._engine = engine
        self.signals = signals
        self.events = events
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    # -- creating and reading ----------------------------------------------------------------

    def insert_queued(
        self,
        conn: sa.Connection,
        spec: GenerationSpec,
        owner: str | None,
        *,
        job_id: str,
        remixed_from: str | None,
        retention: timedelta | None,
        webhook_url: str | None = None,
        surface: str | None = None,
        request_id: str | None = None,
    ) -> Job:
        """Insert a queued job and its ``video.queued`` event inside the caller's transaction
        (``Database.enqueue``'s)."""
        now = self.clock()
        expires_at = now + retention if retention is not None else None
        values: dict[str, Any] = {
            "id": job_id,
            "owner": owner,
            "prompt": spec.prompt,
            "model": spec.model,
            "width": spec.width,
            "height": spec.height,
            "seconds": spec.seconds,
            "seed": spec.seed,
            "first_frame_key": spec.first_frame_key,
            "remixed_from": remixed_from,
            "status": Status.QUEUED.value,
            "progress": 0.0,
            "attempts": 0,
            "cancel_requested": False,
            "created_at": now,
            "updated_at": now,
            "expires_at": expires_at,
            "webhook_url": webhook_url,
            "surface": surface,
            "request_id": request_id,
            # Read in this transaction: its place among the queued jobs of every key.
            "fair_tag": next_fair_tag(conn, owner),
        }
        conn.execute(jobs.insert().values(**values))
        add_usage(
            conn,
            usage_key(owner, now, spec.model),
            jobs=1,
            video_seconds_committed=spec.seconds,
        )
        self.events.record(conn, job_id, EventType.QUEUED)
        if self._postgres:
            # Delivered at commit: wakes idle workers in other processes at once.
            conn.execute(sa.text("SELECT pg_notify('reelforge_jobs', '')"))
        # The job as inserted: a worker may claim it the moment we commit, and the creator's
        # answer must say "queued", not whatever the row says by the time it is read back.
        return row_to_job({column.name: values.get(column.name) for column in jobs.columns})

    def get_job(
        self, job_id: str, owner: str | None = None, *, connection: sa.Connection | None = None
    ) -> Job:
        """The job, or ``JobNotFound``; with ``owner`` another owner's job is 'not found' too."""
        query = sa.select(jobs).where(jobs.c.id == job_id)
        if owner is not None:
            query = query.where(jobs.c.owner == owner)
        if connection is not None:
            row = connection.execute(query).mappings().first()
        else:
            with self._engine.connect() as conn:
                row = conn.execute(query).mappings().first()
        if row is None:
            raise JobNotFound(f"no job with id {job_id}")
        return row_to_job(row)

    def list_jobs(
        self,
        owner: str | None,
        *,
        limit: int = 20,
        after: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> list[Job]:
        """Keyset pagination on (created_at, id); ``after`` is the last id of the previous page."""
        query = sa.select(jobs)
        if owner is not None:
            query = query.where(jobs.c.owner == owner)
        key = sa.tuple_(jobs.c.created_at, jobs.c.id)
        with self._engine.connect() as conn:
            if after is not None:
                anchor = self.get_job(after, owner, connection=conn)
                bound = sa.tuple_(
                    sa.literal(anchor.created_at, jobs.c.created_at.type), sa.literal(anchor.id)
                )
                query = query.where(key > bound if order == "asc" else key < bound)
            if order == "asc":
                query = query.order_by(jobs.c.created_at.asc(), jobs.c.id.asc())
            else:
                query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [row_to_job(row) for row in rows]

    def attempts(self, job_id: str) -> list[Attempt]:
        query = (
            sa.select(job_attempts)
            .where(job_attempts.c.job_id == job_id)
            .order_by(job_attempts.c.attempt)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Attempt(
                r["attempt"],
                r["lease_token"],
                r["worker"],
                r["started_at"],
                r["ended_at"],
                r["outcome"],
                r["compute_seconds"],
            )
            for r in rows
        ]

    def queue_depth(self) -> int:
        query = (
            sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == Status.QUEUED.value)
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_by_status(self) -> dict[Status, int]:
        query = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        with self._engine.connect() as conn:
            counts = {Status(s): int(n) for s, n in conn.execute(query).all()}
        return {status: counts.get(status, 0) for status in Status}

    # -- owner actions -----------------------------------------------------------------------

    def request_cancel(self, job_id: str, owner: str | None = None) -> Job:
        """Queued: cancelled at once. Running: flagged; the worker stops within one step.
        Cancelled already: unchanged. Completed or failed: ``JobFinished``."""
        now = self.clock()
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            job = self.get_job(job_id, owner, connection=conn)
            if job.status in (Status.COMPLETED, Status.FAILED):
                raise JobFinished(
                    f"the job already {job.status.value}; only a queued or running job can be "
                    "cancelled",
                    job.status.value,
                )
            if job.status is Status.QUEUED:
                self._cancel_queued(conn, job_id, now)
            elif job.status is Status.RUNNING:
                self._flag_cancel(conn, job_id, now)
        self.signals.cancel_requested(job_id)
        self.signals.events_recorded()
        return self.get_job(job_id)

    def _cancel_queued(self, conn: sa.Connection, job_id: str, now: datetime) -> None:
        cancel = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == Status.QUEUED.value)
            .values(
                status=Status.CANCELLED.value,
                cancel_requested=True,
                completed_at=now,
                updated_at=now,
                error_code="cancelled",
                error_message="cancelled by request",
            )
            .returning(jobs)
        )
        cancelled = conn.execute(cancel).mappings().first()
        if cancelled is not None:  # None: a worker claimed it meanwhile
            record_outcome(conn, row_to_job(cancelled), Status.CANCELLED)
        self.events.record(conn, job_id, EventType.CANCELLED)

    def _flag_cancel(self, conn: sa.Connection, job_id: str, now: datetime) -> None:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == Status.RUNNING.value)
            .values(cancel_requested=True, updated_at=now)
        )
        if self._postgres:
            conn.execute(sa.text("SELECT pg_notify('reelforge_cancel', :id)"), {"id": job_id})

    def is_cancel_requested(self, job_id: str) -> bool:
        """True when cancel was asked, or when the row is gone (the job was deleted: its work
        must stop as well, and an engine must cancel what it started elsewhere)."""
        query = sa.select(jobs.c.cancel_requested).where(jobs.c.id == job_id)
        with self._engine.connect() as conn:
            flag = conn.execute(query).scalar()
        return flag is None or bool(flag)

    def delete_job(self, job_id: str, owner: str | None = None) -> Job:
        """Remove the row (its attempts cascade); the caller removes blobs and stops work. A
        queued or running job counts as cancelled in the usage ledger."""
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            job = self.get_job(job_id, owner, connection=conn)
            record_deletion(conn, job, self.clock())
            conn.execute(job_attempts.delete().where(job_attempts.c.job_id == job_id))
            conn.execute(jobs.delete().where(jobs.c.id == job_id))
        self.signals.cancel_requested(job_id)
        return job

    def expired_jobs(self, now: datetime, limit: int = 100) -> list[Job]:
        """Terminal jobs whose retention ended (their media is due for deletion)."""
        query = (
            sa.select(jobs)
            .where(
                jobs.c.expires_at.is_not(None),
                jobs.c.expires_at <= now,
                jobs.c.status.not_in(_ACTIVE),
            )
            .order_by(jobs.c.expires_at)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [row_to_job(r) for r in conn.execute(query).mappings().all()]

    def get_jobs(self, job_ids: list[str]) -> dict[str, Job]:
        """The jobs among ``job_ids`` that exist, by id, in one query (event streams read
        every watched job this way once per tick, whatever the number of watchers)."""
        if not job_ids:
            return {}
        query = sa.select(jobs).where(jobs.c.id.in_(job_ids))
        with self._engine.connect() as conn:
            return {r["id"]: row_to_job(r) for r in conn.execute(query).mappings().all()}


def row_to_job(row: Mapping[str, Any] | sa.RowMapping) -> Job:
    spec = GenerationSpec(
        prompt=row["prompt"],
        model=row["model"],
        width=row["width"],
        height=row["height"],
        seconds=row["seconds"],
        seed=row["seed"],
        first_frame_key=row["first_frame_key"],
    )
    outputs = None
    if row["video_key"]:
        outputs = JobOutputs(row["video_key"], row["thumbnail_key"], row["spritesheet_key"])
    return Job(
        id=row["id"],
        owner=row["owner"],
        spec=spec,
        status=Status(row["status"]),
        progress=float(row["progress"]),
        attempts=int(row["attempts"]),
        cancel_requested=bool(row["cancel_requested"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        expires_at=row["expires_at"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        outputs=outputs,
        engine=row["engine"],
        lease_owner=row["lease_owner"],
        lease_token=row["lease_token"],
        lease_expires_at=row["lease_expires_at"],
        remixed_from=row["remixed_from"],
        stage=row["stage"],
        surface=row["surface"],
        compute_seconds=float(row["compute_seconds"] or 0.0),
        fair_tag=float(row["fair_tag"] or 0.0),
        engine_state=_engine_state(row["engine_state"]),
        request_id=row.get("request_id"),
    )


def _engine_state(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}
