"""Tables the HTTP API adds: API keys and idempotency records.

They join the shared ``reelforge.store.tables.metadata`` so one schema describes the database;
migration ``0002_keys_idempotency`` creates them.
"""

from __future__ import annotations

import sqlalchemy as sa

from reelforge.store.tables import metadata
from reelforge.store.types import UTCDateTime

api_keys = sa.Table(
    "api_keys",
    metadata,
    # The public part of the token ("rf_<id>_<secret>"); also the owner of the key's jobs.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 hex of the whole token: the secret itself is never stored.
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    # Limits (NULL: the server-wide default from settings; -1: unlimited for this key).
    sa.Column("rpm", sa.Integer, nullable=True),
    sa.Column("max_queued", sa.Integer, nullable=True),
    sa.Column("max_running", sa.Integer, nullable=True),
    sa.Column("daily_video_seconds", sa.Integer, nullable=True),
    sa.Column("monthly_video_seconds", sa.Integer, nullable=True),
    sa.Column("daily_gpu_seconds", sa.Float, nullable=True),
    sa.Column("monthly_gpu_seconds", sa.Float, nullable=True),
    # JSON list of model names the key may use (NULL: every model).
    sa.Column("allowed_models", sa.Text, nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    # Fair-share weight: a key with weight 3 gets 3 claims for each 1 of a weight-1 key.
    sa.Column("weight", sa.Integer, nullable=False, server_default="1"),
    # The requests-per-minute token bucket: tokens left when last checked.
    sa.Column("rate_tokens", sa.Float, nullable=True),
    sa.Column("rate_checked_at", UTCDateTime, nullable=True),
    # May read the operator endpoints (/v1/admin/...): every key's queue, the workers.
    sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
)

idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    # SHA-256 of the route and the request body: the same key with another body is a 422.
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # in_flight: a request holds the key until locked_until; done: response_* is replayed.
    sa.Column("state", sa.String(16), nullable=False),
    # Random per claim: only the request that holds the key may complete or release it, even
    # after its lock expired and another request took the key over.
    sa.Column("claim_token", sa.String(32), nullable=True),
    sa.Column("job_id", sa.String(36), nullable=True),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("owner", "key"),
    sa.Index("ix_idempotency_records_expires_at", "expires_at"),
)
