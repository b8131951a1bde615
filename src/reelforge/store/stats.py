"""QueueStats: the reads behind queue positions and time estimates.

Three questions, each one indexed query: how much queued work is ahead of a job (its position
and the video seconds per model ahead of it), what is running now, and how long recent jobs
took. ``claim_order`` is the single definition of the order workers take queued jobs in (fair
queueing by key, ``store.fairness``); the position count uses it, so positions follow the fair
order. (A key at its running cap is passed over by claims, so its own jobs may start later than
their position says, and other keys' jobs earlier.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from reelforge.domain.jobs import Job, Status
from reelforge.store.tables import jobs

RECENT_WINDOW = timedelta(hours=24)
"""Completed jobs created longer ago than this do not count as recent throughput."""
RECENT_ROWS = 1000
"""At most this many recent completed jobs are read per refresh (newest first)."""


def claim_order() -> tuple[sa.ColumnElement[object], ...]:
    """The order workers claim queued jobs in: lowest fair-queueing tag first (see
    ``store.fairness``), then oldest ``(created_at, id)``."""
    return (jobs.c.fair_tag, jobs.c.created_at, jobs.c.id)


def _ahead_of(job: Job) -> sa.ColumnElement[bool]:
    """Queued rows a worker would claim before ``job`` (row-value comparison on the claim key,
    served by ``ix_jobs_status_fair_tag``). The job's tag is fixed at enqueue and kept while it
    waits, so the job's snapshot carries the whole bound: plain values, from which the planner
    sees how far into the queue the job is (a range scan near the head)."""
    key = sa.tuple_(*claim_order())
    bound = sa.tuple_(
        sa.literal(job.fair_tag, jobs.c.fair_tag.type),
        sa.literal(job.created_at, jobs.c.created_at.type),
        sa.literal(job.id),
    )
    return sa.and_(jobs.c.status == Status.QUEUED.value, key < bound)


@dataclass(frozen=True, slots=True)
class QueuedAhead:
    """The queued jobs ahead of one job: how many, and their video seconds by model."""

    count: int
    seconds_by_model: dict[str, int]


@dataclass(frozen=True, slots=True)
class RunningJob:
    model: str
    seconds: int
    progress: float
    started_at: datetime | None


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """One recent completed job: which engine ran which model, for how long, for how much video."""

    engine: str | None
    model: str
    seconds: int
    compute_seconds: float


class QueueStats:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def queued_ahead(self, job: Job) -> QueuedAhead:
        """The queued jobs a worker would take before ``job`` (one grouped, indexed query)."""
        return self._queued(_ahead_of(job))

    def queued_work(self) -> QueuedAhead:
        """Every queued job: the work a job enqueued now would wait behind."""
        return self._queued(jobs.c.status == Status.QUEUED.value)

    def _queued(self, where: sa.ColumnElement[bool]) -> QueuedAhead:
        query = (
            sa.select(jobs.c.model, sa.func.count(), sa.func.sum(jobs.c.seconds))
            .where(where)
            .group_by(jobs.c.model)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return QueuedAhead(
            count=sum(int(count) for _, count, _ in rows),
            seconds_by_model={str(model): int(total or 0) for model, _, total in rows},
        )

    def oldest_queued_at(self) -> datetime | None:
        """When the longest-waiting queued job was created (None: nothing is queued)."""
        query = sa.select(sa.func.min(jobs.c.created_at)).where(
            jobs.c.status == Status.QUEUED.value
        )
        with self._engine.connect() as conn:
            oldest: datetime | None = conn.execute(query).scalar()
        return oldest

    def running(self) -> list[RunningJob]:
        query = sa.select(jobs.c.model, jobs.c.seconds, jobs.c.progress, jobs.c.started_at).where(
            jobs.c.status == Status.RUNNING.value
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [RunningJob(str(m), int(s), float(p), started) for m, s, p, started in rows]

    def recent_completions(self, now: datetime) -> list[CompletedRun]:
        """Completed jobs created within ``RECENT_WINDOW`` of ``now``, last completed first (the
        window is on ``created_at`` so the status+created index serves it)."""
        query = (
            sa.select(
                jobs.c.engine, jobs.c.model, jobs.c.seconds, jobs.c.started_at, jobs.c.completed_at
            )
            .where(
                jobs.c.status == Status.COMPLETED.value,
                jobs.c.created_at >= now - RECENT_WINDOW,
            )
            .order_by(jobs.c.completed_at.desc())
            .limit(RECENT_ROWS)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            CompletedRun(engine, str(model), int(seconds), (done - started).total_seconds())
            for engine, model, seconds, started, done in rows
            if started is not None and done is not None and seconds > 0
        ]
