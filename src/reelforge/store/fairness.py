"""Fair queueing by API key: start-time fair queueing (SFQ) with per-key weights.

Workers claim queued jobs in ``(fair_tag, created_at, id)`` order (``stats.claim_order``). The
tag is computed once, when the job is enqueued, so a claim stays one indexed statement:

    fair_tag = max(V, F_owner)

- ``V``, the virtual time: the smallest tag among queued jobs (0 when none is queued), i.e.
  the tag of the job the next claim takes. A key that had nothing queued starts there.
- ``F_owner``: the largest tag among the owner's queued jobs plus ``1 / weight`` (no term when
  the owner has none queued). Each further job of a key lands one "round" of that key's weight
  behind its previous one.

Why this order:

- A key with 500 queued jobs has them at tags V, V+1, ..., V+499; another key's first job gets
  tag V and is claimed after at most one job of each key already at V (about one claim per
  active key), not after the 500.
- Keys with backlogs interleave round-robin: one job per key per unit of tag. A key of weight
  ``w`` advances ``1/w`` per job, so it gets ``w`` claims for each one of a weight-1 key while
  both have jobs waiting (proportional shares).
- Equal tags are broken by ``created_at, id``: a key alone is strict FIFO, and so are jobs
  enqueued before tags existed (all 0).

The owner is the API key id; jobs made on this machine (owner NULL, ``reelforge generate``)
form one more flow of weight 1, as does an owner with no key row. Both reads are single index
probes (``ix_jobs_status_fair_tag`` for V, ``ix_jobs_owner_status_fair_tag`` for F_owner).

Two consequences, both intended:

- A job put back in the queue (its lease expired and was swept, or it was released at
  shutdown) keeps its tag, which is at or below V by then: it goes back near the head. It
  already waited its turn once.
- Two enqueues of the same key at the same instant on PostgreSQL may read the same F_owner and
  get the same tag (SQLite serialises them). The tie is broken by ``created_at, id`` like any
  other, so nothing depends on tags being distinct; that key merely gets two jobs in one round
  once.
"""

from __future__ import annotations

import sqlalchemy as sa

from reelforge.domain.jobs import Status
from reelforge.store.api_tables import api_keys
from reelforge.store.tables import jobs


def next_fair_tag(conn: sa.Connection, owner: str | None) -> float:
    """The tag for a job ``owner`` enqueues now, read in ``conn``'s transaction (one query)."""
    queued = jobs.c.status == Status.QUEUED.value
    owned = jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner
    virtual_time = sa.select(sa.func.min(jobs.c.fair_tag)).where(queued).scalar_subquery()
    owner_last = sa.select(sa.func.max(jobs.c.fair_tag)).where(owned, queued).scalar_subquery()
    weight = sa.select(api_keys.c.weight).where(api_keys.c.id == owner).scalar_subquery()
    row = conn.execute(sa.select(virtual_time, owner_last, weight)).one()
    return start_tag(row[0], row[1], row[2])


def start_tag(virtual_time: float | None, owner_last: float | None, weight: int | None) -> float:
    """``max(V, F_owner)``: ``owner_last`` is the largest tag among the owner's queued jobs
    (None: none queued); a missing or non-positive weight counts as 1."""
    now = float(virtual_time or 0.0)
    if owner_last is None:
        return now
    share = weight if weight is not None and weight > 0 else 1
    return max(now, float(owner_last) + 1.0 / share)
