"""EventLog: the outbox. Job changes record their events here, inside their own transaction.

``record`` writes the event row and one delivery row per URL that wants it (the owner's
webhook endpoints subscribed to its type, and the create's own ``webhook_url`` for terminal
events) in the caller's transaction: a change that rolls back leaves no event and no delivery,
and a change that commits cannot be left unannounced. On PostgreSQL it also queues a NOTIFY
(delivered at commit) so other processes' event streams and dispatchers wake at once; callers
signal this process's own after their commit (``Signals.events_recorded``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from reelforge.domain.events import (
    DEFAULT_WEBHOOK_EVENTS,
    EventType,
    JobEvent,
    new_event_id,
    render_payload,
)
from reelforge.store.db import WRITE
from reelforge.store.event_tables import job_events, webhook_deliveries, webhook_endpoints
from reelforge.store.jobs import Clock, row_to_job
from reelforge.store.tables import jobs
from reelforge.store.types import utcnow

EVENTS_CHANNEL = "reelforge_events"


def new_delivery_id() -> str:
    return "dlv_" + secrets.token_hex(16)


class EventLog:
    def __init__(self, engine: sa.Engine, clock: Clock = utcnow) -> None:
        self._engine = engine
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    # -- writing (inside the caller's transaction) ---------------------------------------------

    def record(self, conn: sa.Connection, job_id: str, event_type: EventType) -> JobEvent | None:
        """Record ``event_type`` for the job as it now stands in ``conn``'s transaction, with
        its deliveries; None when the job is gone (deleted meanwhile)."""
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            return None
        job = row_to_job(row)
        now = self.clock()
        event_id = new_event_id()
        payload = render_payload(event_id, event_type, job, now)
        seq = conn.execute(
            job_events.insert()
            .values(
                id=event_id,
                job_id=job.id,
                owner=job.owner,
                type=event_type.value,
                created_at=now,
                payload=payload,
            )
            .returning(job_events.c.seq)
        ).scalar_one()
        event = JobEvent(seq, event_id, job.id, job.owner, event_type, now, payload)
        self._fan_out(conn, event, row["webhook_url"])
        if self._postgres:
            conn.execute(
                sa.text("SELECT pg_notify(:channel, :id)"),
                {"channel": EVENTS_CHANNEL, "id": job.id},
            )
        return event

    def _fan_out(self, conn: sa.Connection, event: JobEvent, webhook_url: str | None) -> None:
        targets: list[tuple[str | None, str]] = []
        if event.owner is not None:
            endpoints = conn.execute(
                sa.select(
                    webhook_endpoints.c.id, webhook_endpoints.c.url, webhook_endpoints.c.event_types
                ).where(
                    webhook_endpoints.c.owner == event.owner,
                    webhook_endpoints.c.disabled_at.is_(None),  # 410 Gone: no more deliveries
                )
            ).all()
            targets += [
                (eid, url) for eid, url, types in endpoints if event.type in json.loads(types)
            ]
        if webhook_url and event.type in DEFAULT_WEBHOOK_EVENTS:
            targets.append((None, webhook_url))
        if not targets:
            return
        conn.execute(
            webhook_deliveries.insert(),
            [
                {
                    "id": new_delivery_id(),
                    "event_seq": event.seq,
                    "event_id": event.id,
                    "owner": event.owner,
                    "endpoint_id": endpoint_id,
                    "url": url,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": event.created_at,
                    "created_at": event.created_at,
                }
                for endpoint_id, url in targets
            ],
        )

    # -- reading -------------------------------------------------------------------------------

    def for_job(self, job_id: str, after_seq: int = 0, limit: int = 1000) -> list[JobEvent]:
        """The job's events after ``after_seq``, oldest first."""
        query = (
            sa.select(job_events)
            .where(job_events.c.job_id == job_id, job_events.c.seq > after_seq)
            .order_by(job_events.c.seq)
            .limit(limit)
        )
        return self._read(query)

    def since(
        self, after_seq: int, job_ids: Sequence[str] | None = None, limit: int = 1000
    ) -> list[JobEvent]:
        """Events of every job (or of ``job_ids``) after ``after_seq``, oldest first."""
        query = sa.select(job_events).where(job_events.c.seq > after_seq)
        if job_ids is not None:
            query = query.where(job_events.c.job_id.in_(list(job_ids)))
        return self._read(query.order_by(job_events.c.seq).limit(limit))

    def last_seq(self) -> int:
        query = sa.select(sa.func.coalesce(sa.func.max(job_events.c.seq), 0))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def prune(self, older_than: datetime) -> int:
        """Forget what is older than ``older_than``: settled deliveries (with their attempts),
        then events no pending delivery still needs; returns how many events went."""
        settled = webhook_deliveries.c.status != "pending"
        needed = sa.select(webhook_deliveries.c.event_seq).where(
            webhook_deliveries.c.status == "pending"
        )
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                webhook_deliveries.delete().where(
                    settled, webhook_deliveries.c.created_at < older_than
                )
            )
            gone = conn.execute(
                job_events.delete().where(
                    job_events.c.created_at < older_than, job_events.c.seq.not_in(needed)
                )
            )
        return int(gone.rowcount)

    def _read(self, query: sa.Select[tuple[object, ...]]) -> list[JobEvent]:
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_to_event(row) for row in rows]


def _to_event(row: sa.RowMapping) -> JobEvent:
    return JobEvent(
        seq=int(row["seq"]),
        id=row["id"],
        job_id=row["job_id"],
        owner=row["owner"],
        type=EventType(row["type"]),
        created_at=row["created_at"],
        payload=row["payload"],
    )
