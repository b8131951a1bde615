"""The usage ledger: per key, per UTC day and per model, what was admitted, delivered and spent.

One row per (owner, day, model) in ``usage_daily``, changed by upserts inside the transaction
that changes the job, so the ledger and the jobs never disagree, and deleting a job (or its
retention ending) never gives budget back. A job's usage counts on the UTC day it was created:
the day its budget was charged.

- admitted: ``jobs`` + 1, ``video_seconds_committed`` + the job's seconds;
- completed: ``completed`` + 1, ``video_seconds_delivered`` + seconds;
- failed or cancelled (or deleted before it completed): the committed seconds are given back;
- every ended attempt adds the seconds it held a worker slot to ``compute_seconds``.

Budgets are checked against ``video_seconds_committed`` (queued + running + completed), so a
burst of creates can never commit more than the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from reelforge.store.tables import usage_daily

LOCAL_OWNER = ""
"""The ledger's owner for jobs created without an API key (``reelforge generate``)."""


@dataclass(frozen=True, slots=True)
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


def committed_video_seconds(conn: sa.Connection, owner: str, since_day: str) -> int:
    """Video seconds queued, running or delivered for ``owner`` on days from ``since_day``."""
    return int(_sum(conn, usage_daily.c.video_seconds_committed, owner, since_day))


def spent_compute_seconds(conn: sa.Connection, owner: str, since_day: str) -> float:
    """Compute seconds spent on ``owner``'s jobs created on days from ``since_day``."""
    return float(_sum(conn, usage_daily.c.compute_seconds, owner, since_day))


def _sum(
    conn: sa.Connection, column: sa.Column[int] | sa.Column[float], owner: str, since_day: str
) -> float:
    query = sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(
        usage_daily.c.owner == owner, usage_daily.c.day >= since_day
    )
    return float(conn.execute(query).scalar_one())
