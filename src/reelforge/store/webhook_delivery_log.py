"""DeliveryLog: the webhook outbox's record, read: deliveries, newest first, and each one's
attempts (the API, ``reelforge webhooks deliveries`` and metrics read these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from reelforge.store.event_tables import job_events, webhook_attempts, webhook_deliveries

_d = webhook_deliveries


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    job_id: str
    owner: str | None
    endpoint_id: str | None
    url: str
    status: str  # pending | delivered | failed
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    attempt: int
    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None


class DeliveryLog:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def list_deliveries(
        self,
        owner: str | None = None,
        *,
        status: str | None = None,
        endpoint_id: str | None = None,
        job_id: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """Newest first; ``owner`` None lists every key's (the command line)."""
        query = _listing()
        for column, value in (
            (_d.c.owner, owner),
            (_d.c.status, status),
            (_d.c.endpoint_id, endpoint_id),
            (job_events.c.job_id, job_id),
        ):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(_d.c.created_at.desc(), _d.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [_to_delivery(row) for row in conn.execute(query).mappings().all()]

    def get(self, delivery_id: str, owner: str | None = None) -> Delivery | None:
        query = _listing().where(_d.c.id == delivery_id)
        if owner is not None:
            query = query.where(_d.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _to_delivery(row) if row is not None else None

    def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        query = (
            sa.select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.attempt)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            DeliveryAttempt(
                r["attempt"], r["started_at"], r["latency_ms"], r["status_code"], r["error"]
            )
            for r in rows
        ]

    def count_pending(self) -> int:
        query = sa.select(sa.func.count()).where(_d.c.status == "pending")
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def _listing() -> sa.Select[tuple[object, ...]]:
    return sa.select(_d, job_events.c.type.label("event_type"), job_events.c.job_id).select_from(
        _d.join(job_events, job_events.c.seq == _d.c.event_seq)
    )


def _to_delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        job_id=row["job_id"],
        owner=row["owner"],
        endpoint_id=row["endpoint_id"],
        url=row["url"],
        status=row["status"],
        attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
    )
