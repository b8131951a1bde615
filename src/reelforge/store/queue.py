"""The worker's side of the job table: claim with a lease, heartbeat, finish, sweep.

Claims take queued jobs in fair order across API keys (``store.fairness``), passing over keys
at their running cap (``store.running_caps``). Claiming differs by backend: PostgreSQL picks the
next queued row with ``FOR UPDATE SKIP LOCKED`` so many workers claim in parallel without
blocking one another (and re-checks a capped key's count under a per-key lock); SQLite takes
the write lock with ``BEGIN IMMEDIATE`` for the few microseconds the claim lasts.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from reelforge.domain.errors import LeaseLost
from reelforge.domain.events import (
    PROGRESS_STEP_PERCENT,
    TERMINAL_EVENTS,
    EventType,
    progress_percent,
)
from reelforge.domain.jobs import Job, JobOutputs, Lease, Status
from reelforge.store.db import WRITE
from reelforge.store.jobs import JobStore, row_to_job
from reelforge.store.running_caps import (
    OwnerAtCap,
    check_cap,
    claimable,
    claimed_owner_cap,
    has_cap,
)
from reelforge.store.stats import claim_order
from reelforge.store.tables import job_attempts, jobs
from reelforge.store.usage import Ended, attempt_seconds, record_outcome, record_outcomes

CLAIM_TRIES = 8
"""A claim passes over at most this many owners found at their cap by a concurrent claim
(PostgreSQL only; each try passes over one more) before it answers None until the next wake-up
or poll."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    requeued: list[str]
    failed: list[str]


class WorkQueue:
    def __init__(self, engine: sa.Engine, store: JobStore) -> None:
        self.store = store
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def _now(self) -> datetime:
        return self.store.clock()

    def _write(self) -> sa.Connection:
        return self._engine.connect().execution_options(**WRITE)

    # -- claiming ------------------------------------------------------------------------------

    def claim(
        self, worker: str, lease_seconds: float, *, default_max_running: int | None = None
    ) -> Lease | None:
        """Lease the next queued job in fair order (``stats.claim_order``) to ``worker``,
        passing over keys at their running cap (``store.running_caps``; ``default_max_running``
        is the cap of keys that set none); None when no job can be claimed now."""
        passed_over: set[str] = set()
        for _ in range(CLAIM_TRIES):
            try:
                return self._claim_next(worker, lease_seconds, default_max_running, passed_over)
            except OwnerAtCap as full:
                passed_over.add(full.owner)  # rolled back; its capped jobs wait
        return None

    def _claim_next(
        self,
        worker: str,
        lease_seconds: float,
        default_max_running: int | None,
        passed_over: set[str],
    ) -> Lease | None:
        now = self._now()
        lease = Lease(
            job_id="",
            token=secrets.token_hex(16),
            owner=worker,
            expires_at=now + timedelta(seconds=lease_seconds),
            attempt=0,
        )
        pick = self._next_queued(default_max_running, passed_over).scalar_subquery()
        with self._write() as conn, conn.begin():
            # One statement: pick (skipping rows other claimers hold) and take the next job.
            claimed = conn.execute(
                jobs.update()
                .where(jobs.c.id == pick)
                .values(
                    status=Status.RUNNING.value,
                    attempts=jobs.c.attempts + 1,
                    lease_owner=worker,
                    lease_token=lease.token,
                    lease_expires_at=lease.expires_at,
                    started_at=now,
                    updated_at=now,
                    progress=0.0,
                    stage=None,
                )
                .returning(
                    jobs.c.id,
                    jobs.c.attempts,
                    jobs.c.owner,
                    self._cap_to_check(default_max_running),
                )
            ).first()
            if claimed is None:
                return None
            job_id, attempt, job_owner, cap = claimed
            if job_owner is not None and has_cap(cap):
                # Raises OwnerAtCap (rolling this claim back) when a concurrent claim of the
                # same owner committed first and took its last free place.
                check_cap(conn, job_owner, cap)
            # The attempt's row number: one past the job's last row. Not ``attempt``, which
            # a release at shutdown gives back (it is not counted), while its row stays.
            number = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(job_attempts.c.attempt), 0) + 1).where(
                    job_attempts.c.job_id == job_id
                )
            ).scalar_one()
            conn.execute(
                job_attempts.insert().values(
                    job_id=job_id,
                    attempt=number,
                    lease_token=lease.token,
                    worker=worker,
                    started_at=now,
                )
            )
            self.store.events.record(conn, job_id, EventType.STARTED)
        self.store.signals.events_recorded()
        return Lease(job_id, lease.token, worker, lease.expires_at, attempt)

    def _cap_to_check(self, default_max_running: int | None) -> sa.ColumnElement[Any]:
        """The claimed job's owner's cap, to re-check under the owner's lock: on PostgreSQL
        only (NULL on SQLite, whose claims are serialised, so the pick alone is exact)."""
        if not self._postgres:
            return sa.literal(None, sa.Integer)
        return claimed_owner_cap(default_max_running)

    def _next_queued(
        self, default_max_running: int | None, passed_over: set[str]
    ) -> sa.Select[tuple[str]]:
        query = (
            sa.select(jobs.c.id)
            .where(
                jobs.c.status == Status.QUEUED.value,
                claimable(default_max_running, passed_over, sqlite=not self._postgres),
            )
            .order_by(*claim_order())
            .limit(1)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return query

    # -- while running -------------------------------------------------------------------------

    def heartbeat(
        self, lease: Lease, progress: float, lease_seconds: float, stage: str | None = None
    ) -> bool:
        """Extend the lease and record progress; returns whether cancel was requested.

        Raises ``LeaseLost`` when the lease is no longer ours.
        """
        now = self._now()
        extended = now + timedelta(seconds=lease_seconds)
        return self._write_progress(lease, progress, stage, lease_expires_at=extended)

    def record_progress(self, lease: Lease, progress: float, stage: str | None = None) -> bool:
        """Record progress (between heartbeats, so displays move at least once a second);
        returns whether cancel was requested. Raises ``LeaseLost`` like ``heartbeat``."""
        return self._write_progress(lease, progress, stage)

    def _write_progress(
        self, lease: Lease, progress: float, stage: str | None, **values: object
    ) -> bool:
        with self._write() as conn, conn.begin():
            # Locked: the heartbeat and progress threads may write the same job at once, and
            # each 10% mark must be announced once, by whichever write crosses it first.
            before = conn.execute(
                sa.select(jobs.c.progress, jobs.c.cancel_requested)
                .where(jobs.c.id == lease.job_id)
                .with_for_update()
            ).first()
            previous = float(before[0]) if before is not None else 0.0
            # Never backwards within an attempt (a heartbeat may carry an older reading).
            progress = max(previous, min(progress, 1.0))
            self._fenced(
                lease, conn, progress=progress, stage=stage, updated_at=self._now(), **values
            )
            crossed = _progress_steps(progress) > _progress_steps(previous)
            if crossed:
                self.store.events.record(conn, lease.job_id, EventType.PROGRESS)
        if crossed:
            self.store.signals.events_recorded()
        return before is not None and bool(before[1])

    def save_engine_state(self, lease: Lease, state: Mapping[str, Any]) -> None:
        """Record what the engine must remember across attempts; fenced like every write of
        the attempt, so a zombie cannot overwrite the current attempt's state."""
        with self._write() as conn, conn.begin():
            self._fenced(lease, conn, engine_state=json.dumps(dict(state)))

    # -- finishing -----------------------------------------------------------------------------

    def complete(self, lease: Lease, outputs: JobOutputs, engine: str) -> Job:
        return self._finish(
            lease,
            Status.COMPLETED,
            "completed",
            progress=1.0,
            stage=None,
            video_key=outputs.video,
            thumbnail_key=outputs.thumbnail,
            spritesheet_key=outputs.spritesheet,
            engine=engine,
        )

    def fail(self, lease: Lease, code: str, message: str) -> Job:
        return self._finish(lease, Status.FAILED, "failed", error_code=code, error_message=message)

    def cancelled(self, lease: Lease) -> Job:
        return self._finish(
            lease,
            Status.CANCELLED,
            "cancelled",
            error_code="cancelled",
            error_message="cancelled by request",
        )

    def _finish(self, lease: Lease, status: Status, outcome: str, **values: object) -> Job:
        now = self._now()
        with self._write() as conn, conn.begin():
            self._fenced(
                lease,
                conn,
                status=status.value,
                completed_at=now,
                updated_at=now,
                lease_owner=None,
                lease_token=None,
                lease_expires_at=None,
                **values,
            )
            compute = self._end_attempt(conn, lease, outcome, now)
            self.store.events.record(conn, lease.job_id, TERMINAL_EVENTS[status])
            job = self.store.get_job(lease.job_id, connection=conn)
            # Last: the key's jobs of the day share the ledger row; its lock is held shortest.
            record_outcome(conn, job, status, compute)
        self.store.signals.events_recorded()
        return job

    def release(self, lease: Lease) -> None:
        """Give a running job back to the queue (graceful shutdown); the attempt is not counted."""
        now = self._now()
        with self._write() as conn, conn.begin():
            self._fenced(
                lease,
                conn,
                status=Status.QUEUED.value,
                attempts=jobs.c.attempts - 1,
                lease_owner=None,
                lease_token=None,
                lease_expires_at=None,
                started_at=None,
                progress=0.0,
                stage=None,
                updated_at=now,
            )
            compute = self._end_attempt(conn, lease, "released", now)
            self.store.events.record(conn, lease.job_id, EventType.QUEUED)
            record_outcome(conn, self.store.get_job(lease.job_id, connection=conn), None, compute)
        self.store.signals.job_enqueued()
        self.store.signals.events_recorded()

    def _fenced(self, lease: Lease, conn: sa.Connection, **values: object) -> None:
        result = conn.execute(
            jobs.update()
            .where(
                jobs.c.id == lease.job_id,
                jobs.c.lease_token == lease.token,
                jobs.c.status == Status.RUNNING.value,
            )
            .values(**values)
        )
        if result.rowcount != 1:
            raise LeaseLost(f"job {lease.job_id}: lease {lease.token[:8]} is no longer held")

    @staticmethod
    def _end_attempt(
        conn: sa.Connection,
        lease: Lease,
        outcome: str,
        now: datetime,
        measured_to: datetime | None = None,
    ) -> float:
        """End the lease's attempt at ``now``; its compute (seconds from its start to
        ``measured_to``, default ``now``) goes on the attempt and the job; returns it. Called
        only after the fenced write, or by the sweeper: a zombie's attempt is never counted."""
        compute = attempt_seconds(conn, lease.job_id, lease.token, measured_to or now)
        conn.execute(
            job_attempts.update()
            .where(
                job_attempts.c.job_id == lease.job_id,
                job_attempts.c.lease_token == lease.token,
                job_attempts.c.ended_at.is_(None),
            )
            .values(ended_at=now, outcome=outcome, compute_seconds=compute)
        )
        conn.execute(
            jobs.update()
            .where(jobs.c.id == lease.job_id)
            .values(compute_seconds=jobs.c.compute_seconds + compute)
        )
        return compute

    # -- sweeping ------------------------------------------------------------------------------

    def sweep_expired(self, max_attempts: int) -> SweepResult:
        """Return jobs whose lease expired to the queue; fail those out of attempts."""
        now = self._now()
        result = SweepResult([], [])
        with self._write() as conn, conn.begin():
            expired = jobs.c.status == Status.RUNNING.value, jobs.c.lease_expires_at < now
            stale = conn.execute(sa.select(jobs).where(*expired).limit(500)).mappings().all()
            ended: list[Ended] = []
            for row in stale:
                job = row_to_job(row)
                gone = Lease(job.id, row["lease_token"], "", now, job.attempts)
                # The dead worker's compute ends at its last heartbeat or progress write.
                compute = self._end_attempt(conn, gone, "lost", now, measured_to=job.updated_at)
                event = self._settle_lost(conn, gone, job.cancel_requested, max_attempts, result)
                ended.append(Ended(job, _SETTLED.get(event), compute))
                self.store.events.record(conn, job.id, event)
            # After every job row is locked: a zombie finishing one of them (job row, then
            # ledger row) waits for this sweep instead of deadlocking with it.
            record_outcomes(conn, ended)
        if result.requeued:
            self.store.signals.job_enqueued()
        if stale:
            self.store.signals.events_recorded()
        return result

    def _settle_lost(
        self,
        conn: sa.Connection,
        gone: Lease,
        cancel_requested: bool,
        max_attempts: int,
        result: SweepResult,
    ) -> EventType:
        """A lost attempt's job: cancelled if asked, failed when out of attempts, else queued;
        returns the event that announces it."""
        now, attempts = gone.expires_at, gone.attempt
        event = EventType.QUEUED
        if cancel_requested:
            values = _terminal(Status.CANCELLED, now, "cancelled", "cancelled by request")
            event = EventType.CANCELLED
        elif attempts >= max_attempts:
            values = _terminal(
                Status.FAILED,
                now,
                "too_many_attempts",
                f"the worker running this job stopped responding {attempts} times "
                f"(max_attempts={max_attempts}); check worker logs for crashes or "
                "out-of-memory kills",
            )
            result.failed.append(gone.job_id)
            event = EventType.FAILED
        else:
            values = {
                "status": Status.QUEUED.value,
                "lease_owner": None,
                "lease_token": None,
                "lease_expires_at": None,
                "progress": 0.0,
                "stage": None,
                "updated_at": now,
            }
            result.requeued.append(gone.job_id)
        self._fenced(gone, conn, **values)
        return event


_SETTLED = {EventType.CANCELLED: Status.CANCELLED, EventType.FAILED: Status.FAILED}
"""How a swept job ended, by the event that announces it (absent: back to the queue)."""


def _progress_steps(progress: float) -> int:
    """How many 10% marks the percentage shown for ``progress`` has passed: counted on the
    shown percent, so each ``video.progress`` event shows a percent in a new tens band."""
    return progress_percent(progress) // PROGRESS_STEP_PERCENT


def _terminal(status: Status, now: datetime, code: str, message: str) -> dict[str, object]:
    return {
        "status": status.value,
        "completed_at": now,
        "updated_at": now,
        "lease_owner": None,
        "lease_token": None,
        "lease_expires_at": None,
        "stage": None,
        "error_code": code,
        "error_message": message,
    }
