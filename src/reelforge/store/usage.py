"""The usage ledger: per key, per UTC day and per model, what was admitted, delivered and spent.

One row per (owner, day, model) in ``usage_daily``, changed by upserts inside the transaction
that changes the job, so the ledger and the jobs never disagree, and deleting a finished job
(or its retention ending) never gives budget back. A job's usage counts on the UTC day it was
created: the day its budget was charged.

- admitted: ``jobs`` + 1, ``video_seconds_committed`` + the job's seconds;
- completed: ``completed`` + 1, ``video_seconds_delivered`` + seconds;
- failed or cancelled (or deleted before it completed): the committed seconds are given back;
- every ended attempt adds the seconds it held a worker slot to ``compute_seconds`` (an attempt
  whose worker died: up to its last heartbeat), written by whoever ends the attempt.

Budgets are checked against ``video_seconds_committed`` (queued + running + completed), so a
burst of creates can never commit more than the budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from reelforge.domain.jobs import Job, Status
from reelforge.store.api_tables import api_keys
from reelforge.store.tables import job_attempts, jobs, usage_daily

LOCAL_OWNER = ""
"""The ledger's owner for jobs created without an API key (``reelforge generate``)."""


@dataclass(frozen=True, slots=True, order=True)
class UsageKey:
    owner: str
    day: str
    model: str


def usage_key(owner: str | None, created_at: datetime, model: str) -> UsageKey:
    """The ledger row a job's usage belongs to (``created_at`` is UTC)."""
    return UsageKey(owner or LOCAL_OWNER, day_of(created_at), model)


def day_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def add_usage(conn: sa.Connection, key: UsageKey, **deltas: float) -> None:
    """Add ``deltas`` (column -> amount) to the key's row, creating it at zero first."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = {"owner": key.owner, "day": key.day, "model": key.model, **deltas}
    statement = insert(usage_daily).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["owner", "day", "model"],
        set_={name: usage_daily.c[name] + statement.excluded[name] for name in deltas},
    )
    conn.execute(statement)


# -- how attempts and jobs end (inside the transaction that ends them) --------------------------


def attempt_seconds(conn: sa.Connection, job_id: str, lease_token: str, until: datetime) -> float:
    """Seconds the job's open attempt under ``lease_token`` has held its worker slot, up to
    ``until``; 0 when that attempt is unknown or has ended already, so none counts twice."""
    started: datetime | None = conn.execute(
        sa.select(job_attempts.c.started_at).where(
            job_attempts.c.job_id == job_id,
            job_attempts.c.lease_token == lease_token,
            job_attempts.c.ended_at.is_(None),
        )
    ).scalar()
    if started is None:
        return 0.0
    return max(0.0, (until - started).total_seconds())


def record_outcome(
    conn: sa.Connection, job: Job, outcome: Status | None, compute: float = 0.0
) -> None:
    """Enter in ``job``'s ledger row how one of its attempts ended: the ``compute`` seconds it
    spent, and ``outcome`` (a terminal status) when the job ended with it, None when it went
    back to the queue. Completed adds the delivered seconds; failed or cancelled gives the
    committed seconds back."""
    deltas: dict[str, float] = {}
    if compute > 0:
        deltas["compute_seconds"] = compute
    if outcome is Status.COMPLETED:
        deltas |= {"completed": 1, "video_seconds_delivered": job.spec.seconds}
    elif outcome is not None:  # failed or cancelled
        deltas |= {outcome.value: 1, "video_seconds_committed": -job.spec.seconds}
    if deltas:
        add_usage(conn, _key_of(job), **deltas)


class Ended(NamedTuple):
    """How one attempt of ``job`` ended, for ``record_outcomes``."""

    job: Job
    outcome: Status | None
    compute: float


def record_outcomes(conn: sa.Connection, ended: Iterable[Ended]) -> None:
    """``record_outcome`` for several jobs, in ledger-row order: transactions that write more
    than one ledger row lock them in one order, so they cannot deadlock on one another."""
    for job, outcome, compute in sorted(ended, key=lambda one: _key_of(one.job)):
        record_outcome(conn, job, outcome, compute)


def _key_of(job: Job) -> UsageKey:
    return usage_key(job.owner, job.created_at, job.spec.model)


def record_deletion(conn: sa.Connection, job: Job, now: datetime) -> None:
    """Before ``job``'s row is deleted: a queued or running job counts as cancelled (its
    committed seconds come back; a running attempt's compute up to ``now`` stays spent); a
    finished one changes nothing. The row is locked first, so a worker finishing the job at
    this moment either commits before (and the job is seen finished) or is fenced out."""
    query = sa.select(jobs.c.status, jobs.c.lease_token).where(jobs.c.id == job.id)
    current = conn.execute(query.with_for_update()).first()
    if current is None or Status(current.status).is_terminal:
        return
    token = current.lease_token
    compute = attempt_seconds(conn, job.id, token, now) if token else 0.0
    record_outcome(conn, job, Status.CANCELLED, compute)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One ledger row: what one owner's jobs of one model, created on one UTC day, used."""

    owner: str
    key_name: str | None
    """The API key's name; None for local jobs (owner "")."""
    day: str
    model: str
    jobs: int
    completed: int
    failed: int
    cancelled: int
    video_seconds_committed: int
    video_seconds_delivered: int
    compute_seconds: float


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """All-time usage of one key (by name; "local" for local jobs) and model."""

    key: str
    model: str
    completed: int
    failed: int
    cancelled: int
    video_seconds_delivered: int
    compute_seconds: float


LOCAL_LABEL = "local"
"""How reports and metrics name the owner of local jobs."""

_TOTALLED = ("completed", "failed", "cancelled", "video_seconds_delivered", "compute_seconds")


class UsageLedger:
    """Reads of the ledger: per-day rows for reports, all-time totals for metrics."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def daily(self, owner: str | None, first_day: str, last_day: str) -> list[UsageRow]:
        """Rows of ``owner`` ("" for local jobs; None: every owner) for the days from
        ``first_day`` to ``last_day`` (YYYY-MM-DD, inclusive), by owner, day and model."""
        query = (
            sa.select(usage_daily, api_keys.c.name)
            .select_from(_with_key_names())
            .where(usage_daily.c.day >= first_day, usage_daily.c.day <= last_day)
            .order_by(usage_daily.c.owner, usage_daily.c.day, usage_daily.c.model)
        )
        if owner is not None:
            query = query.where(usage_daily.c.owner == owner)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            UsageRow(
                owner=row["owner"],
                key_name=row["name"],
                day=row["day"],
                model=row["model"],
                jobs=int(row["jobs"]),
                completed=int(row["completed"]),
                failed=int(row["failed"]),
                cancelled=int(row["cancelled"]),
                video_seconds_committed=int(row["video_seconds_committed"]),
                video_seconds_delivered=int(row["video_seconds_delivered"]),
                compute_seconds=float(row["compute_seconds"]),
            )
            for row in rows
        ]

    def totals(self) -> list[UsageTotal]:
        """All-time totals per key name and model, in one grouped query (keys that share a
        name are summed: metrics label keys by name)."""
        sums = [sa.func.sum(usage_daily.c[name]) for name in _TOTALLED]
        query = (
            sa.select(usage_daily.c.owner, api_keys.c.name, usage_daily.c.model, *sums)
            .select_from(_with_key_names())
            .group_by(usage_daily.c.owner, api_keys.c.name, usage_daily.c.model)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        merged: dict[tuple[str, str], list[float]] = {}
        for owner, name, model, *values in rows:
            label = LOCAL_LABEL if owner == LOCAL_OWNER else (name or owner)
            total = merged.setdefault((label, model), [0.0] * len(values))
            for index, value in enumerate(values):
                total[index] += float(value or 0)
        return [
            UsageTotal(key, model, int(done), int(failed), int(cancelled), int(video), compute)
            for (key, model), (done, failed, cancelled, video, compute) in sorted(merged.items())
        ]


def _with_key_names() -> sa.Join:
    return usage_daily.outerjoin(api_keys, api_keys.c.id == usage_daily.c.owner)
