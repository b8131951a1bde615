"""DeliveryStore: the webhook outbox's sending side. Claim with a lease, record each attempt.

``EventLog.record`` writes one ``webhook_deliveries`` row per (event, receiving URL) in the
transaction of the job change. Dispatchers, in any number of processes, ``claim_due`` rows
whose time has come: PostgreSQL skips rows another dispatcher holds (``FOR UPDATE SKIP
LOCKED``), SQLite takes the write lock for the claim (``BEGIN IMMEDIATE``). A claim sets a
lease; a dispatcher that dies mid-send leaves a lease that expires, and the row is claimed
again. ``record_attempt`` is fenced by the lease token, so a dispatcher whose lease was taken
over cannot overwrite the newer outcome. A receiver's 410 Gone disables its endpoint and fails
the endpoint's other pending deliveries in the same transaction as the attempt.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from reelforge.store.db import WRITE
from reelforge.store.event_tables import (
    job_events,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_secrets,
)
from reelforge.store.webhook_delivery_log import Delivery, DeliveryAttempt, DeliveryLog

__all__ = ["ClaimedDelivery", "Delivery", "DeliveryAttempt", "DeliveryStore", "fail_pending"]

Clock = Callable[[], datetime]
_d = webhook_deliveries


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery leased to one dispatcher: what to send, where, and what to sign with.
    ``signing_secrets`` is empty for a create's own URL whose key has no secret yet."""

    id: str
    event_id: str
    owner: str | None
    endpoint_id: str | None
    url: str
    payload: str
    attempt: int  # the number of the attempt about to be made (1 = first)
    created_at: datetime
    lease_token: str
    signing_secrets: tuple[str, ...]
    endpoint_disabled: str | None = None
    """Why the delivery's endpoint is disabled (410 Gone); None while it is enabled."""


class DeliveryStore(DeliveryLog):
    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        super().__init__(engine)
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    def _write(self) -> sa.Connection:
        return self._engine.connect().execution_options(**WRITE)

    # -- dispatching ---------------------------------------------------------------------------

    def claim_due(self, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` pending deliveries that are due (oldest due first)."""
        now = self.clock()
        token = secrets.token_hex(16)
        due = (
            sa.select(_d.c.id)
            .where(
                _d.c.status == "pending",
                _d.c.next_attempt_at <= now,
                sa.or_(_d.c.lease_expires_at.is_(None), _d.c.lease_expires_at < now),
            )
            .order_by(_d.c.next_attempt_at, _d.c.id)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        with self._write() as conn, conn.begin():
            claimed = conn.execute(
                _d.update()
                .where(_d.c.id.in_(due.scalar_subquery()))
                .values(lease_token=token, lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(_d.c.id)
            ).all()
            if not claimed:
                return []
            rows = conn.execute(_claimed_rows([row[0] for row in claimed])).mappings().all()
        return [_to_claim(row, token, now) for row in rows]

    def record_attempt(
        self,
        claim: ClaimedDelivery,
        *,
        started_at: datetime,
        latency_ms: float,
        status_code: int | None,
        error: str | None,
        delivered: bool,
        next_attempt_at: datetime | None,
        disable_endpoint: str | None = None,
    ) -> bool:
        """Record the attempt and the delivery's new state: delivered, pending again at
        ``next_attempt_at``, or failed (``next_attempt_at`` None). ``disable_endpoint``: the
        reason to disable the claim's endpoint (410 Gone) and fail its other pending
        deliveries. False when the lease was lost (the outcome is dropped: another dispatcher
        owns the delivery now)."""
        now = self.clock()
        if delivered:
            state: dict[str, object] = {"status": "delivered", "delivered_at": now}
        elif next_attempt_at is None:
            state = {"status": "failed"}
        else:
            state = {"status": "pending", "next_attempt_at": next_attempt_at}
        with self._write() as conn, conn.begin():
            updated = conn.execute(
                _d.update()
                .where(_d.c.id == claim.id, _d.c.lease_token == claim.lease_token)
                .values(
                    attempts=_d.c.attempts + 1,
                    lease_token=None,
                    lease_expires_at=None,
                    last_status_code=status_code,
                    last_error=error,
                    **state,
                )
            ).rowcount
            if updated != 1:
                return False
            conn.execute(
                webhook_attempts.insert().values(
                    delivery_id=claim.id,
                    attempt=claim.attempt,
                    started_at=started_at,
                    latency_ms=latency_ms,
                    status_code=status_code,
                    error=error,
                )
            )
            if disable_endpoint is not None and claim.endpoint_id is not None:
                _disable(conn, claim.endpoint_id, disable_endpoint, now)
        return True

    def give_up(self, claim: ClaimedDelivery, reason: str) -> None:
        """Fail a claimed delivery that cannot be sent at all (no attempt is recorded)."""
        with self._write() as conn, conn.begin():
            conn.execute(
                _d.update()
                .where(_d.c.id == claim.id, _d.c.lease_token == claim.lease_token)
                .values(status="failed", last_error=reason, lease_token=None, lease_expires_at=None)
            )

    # -- replaying ----------------------------------------------------------------------------

    def replay(self, delivery_id: str, owner: str | None = None) -> bool:
        """Send a failed delivery again now (one more attempt with the same ``webhook-id``);
        False when it does not exist or is not failed."""
        query = _d.update().where(_d.c.id == delivery_id, _d.c.status == "failed")
        if owner is not None:
            query = query.where(_d.c.owner == owner)
        with self._write() as conn, conn.begin():
            changed = conn.execute(
                query.values(status="pending", next_attempt_at=self.clock(), lease_token=None)
            ).rowcount
        return changed == 1


def _claimed_rows(ids: list[str]) -> sa.Select[tuple[object, ...]]:
    """The claimed deliveries with their payload, the endpoint's current URL and secrets, and
    the owner's per-request secret."""
    return (
        sa.select(
            _d.c.id,
            _d.c.event_id,
            _d.c.owner,
            _d.c.endpoint_id,
            sa.func.coalesce(webhook_endpoints.c.url, _d.c.url).label("url"),
            _d.c.attempts,
            _d.c.created_at,
            job_events.c.payload,
            webhook_endpoints.c.id.label("endpoint_found"),
            webhook_endpoints.c.secret.label("endpoint_secret"),
            webhook_endpoints.c.previous_secret,
            webhook_endpoints.c.previous_secret_expires_at,
            webhook_endpoints.c.disabled_reason,
            webhook_secrets.c.secret.label("owner_secret"),
        )
        .select_from(
            _d.join(job_events, job_events.c.seq == _d.c.event_seq)
            .outerjoin(webhook_endpoints, webhook_endpoints.c.id == _d.c.endpoint_id)
            .outerjoin(
                webhook_secrets,
                sa.and_(_d.c.endpoint_id.is_(None), webhook_secrets.c.owner == _d.c.owner),
            )
        )
        .where(_d.c.id.in_(ids))
        .order_by(_d.c.next_attempt_at, _d.c.id)
    )


def _to_claim(row: sa.RowMapping, token: str, now: datetime) -> ClaimedDelivery:
    if row["endpoint_id"] is None:
        keys: tuple[str, ...] = (row["owner_secret"],) if row["owner_secret"] else ()
    elif row["endpoint_found"] is None:
        keys = ()  # the endpoint was deleted: the dispatcher gives the delivery up
    else:
        keys = (row["endpoint_secret"],)
        expires = row["previous_secret_expires_at"]
        if row["previous_secret"] and expires is not None and expires > now:
            keys += (row["previous_secret"],)
    return ClaimedDelivery(
        id=row["id"],
        event_id=row["event_id"],
        owner=row["owner"],
        endpoint_id=row["endpoint_id"],
        url=row["url"],
        payload=row["payload"],
        attempt=int(row["attempts"]) + 1,
        created_at=row["created_at"],
        lease_token=token,
        signing_secrets=keys,
        endpoint_disabled=row["disabled_reason"],
    )


def fail_pending(conn: sa.Connection, endpoint_id: str, reason: str) -> None:
    """Fail the endpoint's pending deliveries, with ``reason`` as their last error; one in
    flight is fenced out (its lease is cleared, so its outcome is dropped)."""
    conn.execute(
        _d.update()
        .where(_d.c.endpoint_id == endpoint_id, _d.c.status == "pending")
        .values(status="failed", last_error=reason, lease_token=None, lease_expires_at=None)
    )


def _disable(conn: sa.Connection, endpoint_id: str, reason: str, now: datetime) -> None:
    """No more deliveries to the endpoint until it is updated (``WebhookStore.update_endpoint``
    clears ``disabled_at``); what is pending fails, replayable once it is enabled again."""
    conn.execute(
        webhook_endpoints.update()
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(disabled_at=now, disabled_reason=reason)
    )
    fail_pending(
        conn,
        endpoint_id,
        f"endpoint disabled: {reason}; update the endpoint to enable it, then replay",
    )
