"""Tables of job events and webhooks: the outbox and what is delivered from it.

``job_events`` is written in the same transaction as the job change it describes;
``webhook_deliveries`` holds one row per (event, receiving URL), written in that transaction
too, which the dispatchers claim with a lease. Migration ``0004_events_webhooks`` creates them.
"""

from __future__ import annotations

import sqlalchemy as sa

from reelforge.store.tables import metadata
from reelforge.store.types import UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid).
Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

job_events = sa.Table(
    "job_events",
    metadata,
    # Orders all events: an event stream's id, and the dispatchers' cursor.
    sa.Column("seq", Sequence, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    # No foreign key: an event outlives its job's deletion until it has been delivered.
    sa.Column("job_id", sa.String(36), nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The webhook body, rendered once so every retry sends the same bytes.
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_job_events_job_id_seq", "job_id", "seq"),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    # JSON list of event types.
    sa.Column("event_types", sa.Text, nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),
    # After a rotation that keeps the old secret, deliveries are signed with both until then.
    sa.Column("previous_secret", sa.String(100), nullable=True),
    sa.Column("previous_secret_expires_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Set when the receiver answered 410 Gone (no more deliveries); an update clears it.
    sa.Column("disabled_at", UTCDateTime, nullable=True),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Index("ix_webhook_endpoints_owner_created", "owner", "created_at"),
)

webhook_secrets = sa.Table(
    "webhook_secrets",
    metadata,
    # The secret that signs deliveries to a create's own ``webhook_url``, one per key.
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("event_seq", Sequence, nullable=False),
    # The event's id: sent as ``webhook-id`` on every attempt.
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),
    # None: the create's own ``webhook_url`` (signed with the key's secret).
    sa.Column("endpoint_id", sa.String(40), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    # pending (due at next_attempt_at) | delivered | failed (gave up; can be replayed)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_token", sa.String(32), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_owner_created", "owner", "created_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column(
        "delivery_id",
        sa.String(40),
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.PrimaryKeyConstraint("delivery_id", "attempt"),
)
