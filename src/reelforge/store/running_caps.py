"""Per-key caps on running jobs (``max_running``), enforced when a worker claims.

A key's cap is its own ``api_keys.max_running``; NULL there takes the server default
(``Settings.default_max_running``; None: no cap) and -1 (``domain.quotas.UNLIMITED``) lifts it
for that key. Jobs without an owner (``reelforge generate``) have no cap; an owner without a key
row has the default. A capped key's jobs are never refused: they wait in the queue while the
claim takes the next job in fair order from a key below its cap.

**One statement.** The claim skips queued jobs of *saturated* owners, those with at least their
cap running. That set is one grouped query over the running jobs (as many rows as busy worker
slots), not correlated with the queued row, so PostgreSQL hashes it and SQLite materialises it
once per claim: the claim stays one statement and its cost does not grow with the queue.

**Concurrent claims.** SQLite's ``BEGIN IMMEDIATE`` serialises claims, so the set is exact. On
PostgreSQL two workers claiming at the same instant both read the set before either commits,
and could each take one job of a key one below its cap. So a claim that took a capped key's job
then takes a transaction-scoped advisory lock on the owner and counts the owner's running jobs
again in a new statement (a new snapshot): of two such claims, the later waits for the earlier
one's commit and counts its job. Over the cap, it rolls back and claims again, passing over that
owner. The lock is per owner, is taken only for capped keys and is held for the rest of the
claim (milliseconds); nothing a claim does after taking it waits for another claim, so it cannot
deadlock.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

import sqlalchemy as sa

from reelforge.domain.jobs import Status
from reelforge.store.api_tables import api_keys
from reelforge.store.tables import jobs

LOCK_CLASS = 0x5EE2
"""First key of the owner locks (``pg_advisory_xact_lock(LOCK_CLASS, hashtext(owner))``): the
two-key space, apart from the migration lock's one-key space. Two owners whose ids hash alike
merely share a lock."""

RUNNING_LIKELIHOOD = "0.001"
"""For SQLite's planner: the share of job rows that are running (a literal, as it requires)."""


class OwnerAtCap(Exception):
    """The job just claimed would put its owner over its cap (PostgreSQL, concurrent claims)."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


def claimable(
    default_cap: int | None, passed_over: Collection[str], *, sqlite: bool
) -> sa.ColumnElement[bool]:
    """The queued rows a claim may take: no owner, or an owner below its cap and not among
    ``passed_over`` (owners an earlier try of this claim found at their cap)."""
    saturated = _saturated_owners(default_cap, sqlite=sqlite)
    allowed: sa.ColumnElement[bool] = jobs.c.owner.not_in(saturated)
    if passed_over:
        allowed = sa.and_(allowed, jobs.c.owner.not_in(sorted(passed_over)))
    return sa.or_(jobs.c.owner.is_(None), allowed)


@cache
def claimed_owner_cap(default_cap: int | None) -> sa.ColumnElement[int]:
    """For a RETURNING clause on ``jobs``: the claimed row's owner's cap (NULL or negative:
    none)."""
    own = (
        sa.select(api_keys.c.max_running)
        .where(api_keys.c.id == jobs.c.owner)
        .correlate(jobs)
        .scalar_subquery()
    )
    return _with_default(own, default_cap)


def has_cap(cap: int | None) -> bool:
    """Whether ``cap`` (as ``claimed_owner_cap`` returns it) limits anything."""
    return cap is not None and cap >= 0


def check_cap(conn: sa.Connection, owner: str, cap: int) -> None:
    """On PostgreSQL, after claiming a job of ``owner`` (capped at ``cap``) in ``conn``'s
    transaction: wait for other claims of the owner to commit, then raise ``OwnerAtCap`` when
    its running jobs, this one included, are more than ``cap``."""
    conn.execute(
        sa.select(sa.func.pg_advisory_xact_lock(LOCK_CLASS, sa.func.hashtext(owner)))
    ).all()
    # A new statement, so a new snapshot: it sees every claim that held the lock before ours.
    running = conn.execute(
        sa.select(sa.func.count()).where(
            jobs.c.owner == owner, jobs.c.status == Status.RUNNING.value
        )
    ).scalar_one()
    if running > cap:
        raise OwnerAtCap(owner)


@cache  # built once per setting: a claim then only pays for its own few clauses
def _saturated_owners(default_cap: int | None, *, sqlite: bool) -> sa.Select[tuple[str]]:
    running = jobs.alias("running")
    # The status inline, not a parameter: PostgreSQL plans a prepared claim once (a generic
    # plan) and with ``status = $1`` would not know that this status is rare.
    is_running: sa.ColumnElement[bool] = running.c.status == sa.literal(
        Status.RUNNING.value, literal_execute=True
    )
    if sqlite:
        # Running jobs are a handful among all jobs ever made. SQLite cannot tell (after an
        # ANALYZE it only knows the average rows per status) and would scan the whole owner
        # index instead of searching the status index; likelihood() tells it.
        is_running = sa.func.likelihood(is_running, sa.literal_column(RUNNING_LIKELIHOOD))
    cap = _with_default(api_keys.c.max_running, default_cap)
    return (
        sa.select(running.c.owner)
        .select_from(running.outerjoin(api_keys, api_keys.c.id == running.c.owner))
        .where(is_running)
        .group_by(running.c.owner, api_keys.c.max_running)
        # A NULL in the set would make NOT IN match nothing. (In HAVING, not WHERE, where
        # SQLite would take it as a reason to scan the owner index.)
        .having(running.c.owner.is_not(None), cap >= 0, sa.func.count() >= cap)
    )


def _with_default(
    own: sa.ColumnElement[int] | sa.ScalarSelect[int], default_cap: int | None
) -> sa.ColumnElement[int]:
    if default_cap is None:
        return own
    return sa.func.coalesce(own, sa.literal(default_cap, sa.Integer))
