"""Per-key limits checked in the database, so every replica enforces the same numbers.

``check_admission`` runs inside ``Database.enqueue``'s transaction, right before the job row is
inserted, under the key's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), so concurrent creates through any number of
``serve`` processes can never spend the same allowance twice:

- the requests-per-minute token bucket (capacity ``rpm``, refilled at rpm/60 per second),
  kept on the key's row. Not in Redis: every create already writes this database under this
  lock, so the bucket costs one more column update in the same transaction, where Redis would
  add a round trip, a second store to run and secure, and a window where the two disagree;
- the queued-jobs cap;
- the video-second budgets against what is already committed (the usage ledger: queued +
  running + completed), so a burst of creates is cut exactly at the budget;
- the compute budgets: spent (the ledger) plus an estimate for the key's queued and running
  jobs and this one, at the recent compute per video second of each model.

A refusal rolls the transaction back: it spends nothing, not even a token. ``precheck`` reads
the same numbers without the lock, before admission's costly steps (fetching and face-checking
a first frame), so a key over its limits is refused before that work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from reelforge.domain.jobs import Status
from reelforge.domain.quotas import (
    KeyLimits,
    QuotaExceeded,
    describe_reset,
    next_day,
    next_month,
)
from reelforge.domain.specs import GenerationSpec
from reelforge.store.api_tables import api_keys
from reelforge.store.tables import jobs, usage_daily
from reelforge.store.usage import day_of

QUEUED_RETRY_SECONDS = 10.0
"""``Retry-After`` for a full queue: about when a queued job of the key may have started."""
COMPUTE_RATE_WINDOW = timedelta(days=7)
"""Compute per video second is estimated from the jobs of this many recent days."""
COMPUTE_RATE_CACHE_SECONDS = 60.0
"""The per-model compute rates (all keys' history) are re-read at most this often."""
_ACTIVE = (Status.QUEUED.value, Status.RUNNING.value)


class QuotaStore:
    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self.clock = clock
        self._rates: tuple[float, dict[str, float]] | None = None
        self._rates_lock = threading.Lock()

    def check_admission(
        self, conn: sa.Connection, owner: str, spec: GenerationSpec, limits: KeyLimits
    ) -> None:
        """Raise ``QuotaExceeded`` when queueing ``spec`` for ``owner`` would pass one of
        ``limits`` (effective values), else take one token from the key's bucket; run inside
        the enqueue transaction."""
        if not _any_admission_limit(limits):
            return
        now = self.clock()
        check_budget_size(spec, limits, now)
        bucket = conn.execute(_locked(conn, _bucket_of(owner))).first()
        tokens = _take_token(bucket, limits.rpm, now)
        self._check(conn, owner, spec, limits, now)
        if tokens is not None:
            conn.execute(
                api_keys.update()
                .where(api_keys.c.id == owner)
                .values(rate_tokens=tokens - 1, rate_checked_at=now)
            )

    def precheck(self, owner: str, spec: GenerationSpec, limits: KeyLimits) -> None:
        """The same checks without the lock and without spending: a key over its limits is
        refused before costly work. The check that counts is ``check_admission``'s."""
        if not _any_admission_limit(limits):
            return
        now = self.clock()
        check_budget_size(spec, limits, now)
        with self._engine.connect() as conn:
            _take_token(conn.execute(_bucket_of(owner)).first(), limits.rpm, now)
            self._check(conn, owner, spec, limits, now)

    def standing(self, owner: str) -> KeyStanding:
        """What the key has used of each limit right now (for ``GET /v1/usage``)."""
        now = self.clock()
        with self._engine.connect() as conn:
            bucket = conn.execute(_bucket_of(owner)).first()
            counts = conn.execute(
                sa.select(jobs.c.status, sa.func.count())
                .where(jobs.c.owner == owner, jobs.c.status.in_(_ACTIVE))
                .group_by(jobs.c.status)
            ).all()
            totals = _period_totals(conn, owner, now)
        by_status = {str(status): int(count) for status, count in counts}
        tokens = None
        if bucket is not None and bucket.rate_tokens is not None:
            tokens = (bucket.rate_tokens, bucket.rate_checked_at)
        return KeyStanding(
            now=now,
            queued=by_status.get(Status.QUEUED.value, 0),
            running=by_status.get(Status.RUNNING.value, 0),
            totals=totals,
            bucket=tokens,
        )

    def _check(
        self,
        conn: sa.Connection,
        owner: str,
        spec: GenerationSpec,
        limits: KeyLimits,
        now: datetime,
    ) -> None:
        gpu = {"daily": limits.daily_gpu_seconds, "monthly": limits.monthly_gpu_seconds}
        gpu_budget = any(value is not None for value in gpu.values())
        active = None
        if limits.max_queued is not None or gpu_budget:
            active = _active_jobs(conn, owner)
        if limits.max_queued is not None:
            assert active is not None
            _check_queued(active.queued, limits.max_queued, now)
        if not limits.has_budget:
            return
        totals = _period_totals(conn, owner, now)
        for period, budget in (
            ("daily", limits.daily_video_seconds),
            ("monthly", limits.monthly_video_seconds),
        ):
            if budget is not None:
                committed = int(totals[f"{period}_committed"])
                _check_video_budget(spec, period, budget, committed, now)
        if gpu_budget:
            assert active is not None
            rates = self._compute_rates(conn, now)
            ahead = sum(
                seconds * rates.get(model, 0.0) for model, seconds in active.seconds.items()
            )
            this_job = spec.seconds * rates.get(spec.model, 0.0)
            _check_compute(gpu, totals, ahead + this_job, now)

    def _compute_rates(self, conn: sa.Connection, now: datetime) -> dict[str, float]:
        """Compute seconds per delivered video second, by model, over recent days (all keys;
        cached for a minute: an estimate that need not move with every job)."""
        with self._rates_lock:
            if self._rates is not None and time.monotonic() < self._rates[0]:
                return self._rates[1]
        since = day_of(now - COMPUTE_RATE_WINDOW)
        rows = conn.execute(
            sa.select(
                usage_daily.c.model,
                sa.func.sum(usage_daily.c.compute_seconds),
                sa.func.sum(usage_daily.c.video_seconds_delivered),
            )
            .where(usage_daily.c.day >= since)
            .group_by(usage_daily.c.model)
        ).all()
        rates = {
            str(model): float(compute) / delivered
            for model, compute, delivered in rows
            if delivered
        }
        with self._rates_lock:
            self._rates = (time.monotonic() + COMPUTE_RATE_CACHE_SECONDS, rates)
        return rates


@dataclass(frozen=True, slots=True)
class KeyStanding:
    now: datetime
    queued: int
    running: int
    totals: dict[str, float]
    """``daily_committed``, ``monthly_committed``, ``daily_compute``, ``monthly_compute``."""
    bucket: tuple[float, datetime] | None
    """The rate bucket's tokens when last checked, and when (None: never used)."""

    def rate_tokens(self, rpm: int) -> float:
        """Whole creates the key may make now under ``rpm``."""
        if self.bucket is None:
            return float(rpm)
        return _refilled(self.bucket[0], self.bucket[1], self.now, rpm)


class _ActiveJobs:
    """A key's queued job count and its queued + running video seconds by model."""

    def __init__(self, queued: int, seconds: dict[str, float]) -> None:
        self.queued = queued
        self.seconds = seconds


def _active_jobs(conn: sa.Connection, owner: str) -> _ActiveJobs:
    rows = conn.execute(
        sa.select(jobs.c.status, jobs.c.model, sa.func.count(), sa.func.sum(jobs.c.seconds))
        .where(jobs.c.owner == owner, jobs.c.status.in_(_ACTIVE))
        .group_by(jobs.c.status, jobs.c.model)
    ).all()
    seconds: dict[str, float] = {}
    for _status, model, _count, total in rows:
        seconds[str(model)] = seconds.get(str(model), 0.0) + float(total or 0)
    queued = sum(int(count) for status, _model, count, _total in rows if status == "queued")
    return _ActiveJobs(queued, seconds)


def _any_admission_limit(limits: KeyLimits) -> bool:
    return limits.rpm is not None or limits.max_queued is not None or limits.has_budget


def _bucket_of(owner: str) -> sa.Select[Any]:
    return sa.select(api_keys.c.rate_tokens, api_keys.c.rate_checked_at).where(
        api_keys.c.id == owner
    )


def _take_token(bucket: sa.Row[Any] | None, rpm: int | None, now: datetime) -> float | None:
    """The tokens in the key's bucket now (raising when fewer than one), or None without a
    rate limit."""
    if rpm is None:
        return None
    tokens = _refilled(bucket.rate_tokens, bucket.rate_checked_at, now, rpm) if bucket else rpm
    if tokens >= 1:
        return float(tokens)
    wait = timedelta(seconds=(1 - tokens) * 60 / rpm)
    raise QuotaExceeded(
        "rpm",
        rpm,
        f"rate limit reached for this API key: {rpm} video creates per minute (rpm = {rpm}); "
        f"retry after {max(1, round(wait.total_seconds()))} s",
        retry_at=now + wait,
        now=now,
    )


def _check_queued(queued: int, cap: int, now: datetime) -> None:
    if queued >= cap:
        raise QuotaExceeded(
            "max_queued",
            cap,
            f"this API key already has {queued} videos queued (max_queued = {cap}); retry when "
            "one of them has started, or cancel one",
            retry_at=now + timedelta(seconds=QUEUED_RETRY_SECONDS),
            now=now,
        )


def check_budget_size(spec: GenerationSpec, limits: KeyLimits, now: datetime) -> None:
    """Refuse, for good, a video longer than a whole video budget (no query needed)."""
    for period, budget, reset in (
        ("daily", limits.daily_video_seconds, next_day(now)),
        ("monthly", limits.monthly_video_seconds, next_month(now)),
    ):
        if budget is not None and spec.seconds > budget:
            limit = f"{period}_video_seconds"
            raise QuotaExceeded(
                limit,
                budget,
                f"this {spec.seconds} s video is longer than this API key's whole {period} "
                f"budget of {budget} video seconds ({limit} = {budget}); ask an operator to "
                "raise it",
                retry_at=reset,
                now=now,
                final=True,
            )


def _check_video_budget(
    spec: GenerationSpec, period: str, budget: int, committed: int, now: datetime
) -> None:
    if committed + spec.seconds <= budget:
        return
    limit = f"{period}_video_seconds"
    reset = _reset(period, now)
    raise QuotaExceeded(
        limit,
        budget,
        f"{period} video budget reached for this API key: {budget} video seconds "
        f"({limit} = {budget}); {committed} s are queued, running or completed this "
        f"{_period_noun(period)} and this {spec.seconds} s video would pass it; it resets at "
        f"{describe_reset(reset)}",
        retry_at=reset,
        now=now,
    )


def _check_compute(
    budgets: dict[str, float | None], totals: dict[str, float], ahead: float, now: datetime
) -> None:
    """``ahead``: the estimated compute still to come for the key's active jobs and this one."""
    for period, budget in budgets.items():
        spent = totals[f"{period}_compute"]
        if budget is None or spent + ahead <= budget:
            continue
        reset = _reset(period, now)
        limit = f"{period}_gpu_seconds"
        raise QuotaExceeded(
            limit,
            budget,
            f"{period} compute budget reached for this API key: {budget:g} GPU-seconds "
            f"({limit} = {budget:g}); {spent:.0f} s spent this {_period_noun(period)}, about "
            f"{ahead:.0f} s more estimated for its queued and running videos and this one; it "
            f"resets at {describe_reset(reset)}",
            retry_at=reset,
            now=now,
        )


def _period_totals(conn: sa.Connection, owner: str, now: datetime) -> dict[str, float]:
    """The owner's committed video seconds and spent compute, this UTC day and month, in one
    query over at most a month of ledger rows."""
    today = usage_daily.c.day >= day_of(now)
    committed, compute = usage_daily.c.video_seconds_committed, usage_daily.c.compute_seconds

    def total(column: Any, where: sa.ColumnElement[bool] | None) -> Any:
        value = column if where is None else sa.case((where, column), else_=0)
        return sa.func.coalesce(sa.func.sum(value), 0)

    row = conn.execute(
        sa.select(
            total(committed, today),
            total(committed, None),
            total(compute, today),
            total(compute, None),
        ).where(usage_daily.c.owner == owner, usage_daily.c.day >= _month_start(now))
    ).one()
    names = ("daily_committed", "monthly_committed", "daily_compute", "monthly_compute")
    return {name: float(value) for name, value in zip(names, row, strict=True)}


def _refilled(tokens: float | None, checked_at: datetime | None, now: datetime, rpm: int) -> float:
    if tokens is None or checked_at is None:
        return float(rpm)
    elapsed = max(0.0, (now - checked_at).total_seconds())
    return min(float(rpm), tokens + elapsed * rpm / 60)


def _reset(period: str, now: datetime) -> datetime:
    return next_day(now) if period == "daily" else next_month(now)


def _month_start(now: datetime) -> str:
    return now.strftime("%Y-%m-01")


def _period_noun(period: str) -> str:
    return "UTC day" if period == "daily" else "UTC month"


def _locked(conn: sa.Connection, query: sa.Select[Any]) -> sa.Select[Any]:
    """The row lock that serialises a key's admissions (SQLite's write lock already does)."""
    return query.with_for_update() if conn.dialect.name == "postgresql" else query
