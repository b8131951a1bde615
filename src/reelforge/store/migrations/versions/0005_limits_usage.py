"""Per-key limits, fair queueing tags, compute accounting and the daily usage ledger.

Revision ID: 0005_limits_usage
Revises: 0004_events_webhooks
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.store.types import UTCDateTime

revision = "0005_limits_usage"
down_revision = "0004_events_webhooks"
branch_labels = None
depends_on = None

_LIMIT_COLUMNS = (
    ("rpm", sa.Integer),
    ("max_queued", sa.Integer),
    ("max_running", sa.Integer),
    ("daily_video_seconds", sa.Integer),
    ("monthly_video_seconds", sa.Integer),
    ("daily_gpu_seconds", sa.Float),
    ("monthly_gpu_seconds", sa.Float),
)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name, kind in _LIMIT_COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))
        batch.add_column(sa.Column("allowed_models", sa.Text, nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("weight", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("rate_tokens", sa.Float, nullable=True))
        batch.add_column(sa.Column("rate_checked_at", UTCDateTime, nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("fair_tag", sa.Float, nullable=False, server_default="0"))
        batch.add_column(sa.Column("compute_seconds", sa.Float, nullable=False, server_default="0"))
    with op.batch_alter_table("job_attempts") as batch:
        batch.add_column(sa.Column("compute_seconds", sa.Float, nullable=True))
    # Jobs queued before the upgrade keep tag 0: they run first, in FIFO order (ties break by
    # created_at, id), then the fair order takes over.
    op.create_index("ix_jobs_status_fair_tag", "jobs", ["status", "fair_tag", "created_at"])
    op.create_index("ix_jobs_owner_status_fair_tag", "jobs", ["owner", "status", "fair_tag"])
    op.create_table(
        "usage_daily",
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("jobs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("video_seconds_committed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("video_seconds_delivered", sa.Integer, nullable=False, server_default="0"),
        sa.Column("compute_seconds", sa.Float, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("owner", "day", "model", name=op.f("pk_usage_daily")),
    )
    _backfill_usage()


def _backfill_usage() -> None:
    """Jobs that exist already enter the ledger, so budgets count them from the start (a
    job's usage counts on the UTC day it was created)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        if postgres
        else "substr(created_at, 1, 10)"  # SQLite stores naive UTC text
    )
    op.execute(
        "INSERT INTO usage_daily (owner, day, model, jobs, completed, failed, cancelled, "
        "video_seconds_committed, video_seconds_delivered, compute_seconds) "
        "SELECT owner, day, model, count(*), "
        "sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status IN ('queued', 'running', 'completed') THEN seconds ELSE 0 END), "
        "sum(CASE WHEN status = 'completed' THEN seconds ELSE 0 END), 0 "
        f"FROM (SELECT coalesce(owner, '') AS owner, model, status, seconds, {day} AS day "
        "FROM jobs) AS j GROUP BY owner, day, model"
    )


def downgrade() -> None:
    op.drop_table("usage_daily")
    op.drop_index("ix_jobs_owner_status_fair_tag", "jobs")
    op.drop_index("ix_jobs_status_fair_tag", "jobs")
    with op.batch_alter_table("job_attempts") as batch:
        batch.drop_column("compute_seconds")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("compute_seconds")
        batch.drop_column("fair_tag")
    with op.batch_alter_table("api_keys") as batch:
        for name in ("rate_checked_at", "rate_tokens", "weight", "expires_at", "allowed_models"):
            batch.drop_column(name)
        for name, _kind in reversed(_LIMIT_COLUMNS):
            batch.drop_column(name)
