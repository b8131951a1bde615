"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` must match these."""

from __future__ import annotations

import sqlalchemy as sa

from reelforge.store.types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=True),
    # The validated spec.
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Integer, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("first_frame_key", sa.String(512), nullable=True),
    sa.Column("remixed_from", sa.String(36), nullable=True),
    # Lifecycle.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("lease_owner", sa.String(255), nullable=True),
    sa.Column("lease_token", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("completed_at", UTCDateTime, nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    # Outputs: blob keys, set together with status=completed.
    sa.Column("video_key", sa.String(512), nullable=True),
    sa.Column("thumbnail_key", sa.String(512), nullable=True),
    sa.Column("spritesheet_key", sa.String(512), nullable=True),
    sa.Column("engine", sa.String(64), nullable=True),
    # What the running job is doing (loading, denoising, encoding): for progress displays.
    sa.Column("stage", sa.String(16), nullable=True),
    # A create's own webhook URL (checked at admission); terminal events are sent to it too.
    sa.Column("webhook_url", sa.Text, nullable=True),
    # The API surface that created the job (openai | seed; NULL: the command line).
    sa.Column("surface", sa.String(16), nullable=True),
    # Fair queueing: the job's virtual start time among its owner's jobs (see store.fairness).
    sa.Column("fair_tag", sa.Float, nullable=False, server_default="0"),
    # Wall-clock seconds worker slots (GPUs, on a GPU engine) spent on the job, all attempts.
    sa.Column("compute_seconds", sa.Float, nullable=False, server_default="0"),
    # What the engine must remember across attempts (JSON): an upstream engine's remote job
    # id, so a new attempt resumes polling it instead of paying for a second render.
    sa.Column("engine_state", sa.Text, nullable=True),
    # The X-Request-Id of the HTTP request that created the job: its worker's log lines carry
    # it, so one id finds the request and the render in the logs.
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Index("ix_jobs_status_created", "status", "created_at"),
    sa.Index("ix_jobs_status_fair_tag", "status", "fair_tag", "created_at"),
    sa.Index("ix_jobs_owner_status_fair_tag", "owner", "status", "fair_tag"),
    sa.Index("ix_jobs_owner_created", "owner", "created_at"),
    sa.Index("ix_jobs_lease_expires", "lease_expires_at"),
)

job_attempts = sa.Table(
    "job_attempts",
    metadata,
    sa.Column(
        "job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("lease_token", sa.String(64), nullable=False),
    sa.Column("worker", sa.String(255), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    # completed | failed | cancelled | released | lost (lease expired, swept)
    sa.Column("outcome", sa.String(16), nullable=True),
    # Seconds this attempt held a worker slot: measured when it ends, or to its last heartbeat
    # when the worker died.
    sa.Column("compute_seconds", sa.Float, nullable=True),
    sa.PrimaryKeyConstraint("job_id", "attempt"),
)

usage_daily = sa.Table(
    "usage_daily",
    metadata,
    # The key's id ("" for jobs made on this machine by `reelforge generate`).
    sa.Column("owner", sa.String(64), nullable=False),
    # The UTC day the job was created (YYYY-MM-DD): all of a job's usage counts on that day,
    # the day its budget was charged.
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("jobs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancelled", sa.Integer, nullable=False, server_default="0"),
    # Queued + running + completed: what budgets are checked against.
    sa.Column("video_seconds_committed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("video_seconds_delivered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("compute_seconds", sa.Float, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("owner", "day", "model"),
)

workers = sa.Table(
    "workers",
    metadata,
    # One row per worker process start (random): two processes never share a row, even with
    # the same ``worker_id`` setting.
    sa.Column("id", sa.String(32), primary_key=True),
    # The name in lease rows (``worker_id``, default host:pid).
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    # JSON: the models the engine serves, and its describe() facts.
    sa.Column("models", sa.Text, nullable=False, server_default="[]"),
    sa.Column("facts", sa.Text, nullable=False, server_default="{}"),
    # loading | loaded | failed | stopped; error: why the engine failed to load.
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("concurrency", sa.Integer, nullable=False, server_default="1"),
    sa.Column("running", sa.Integer, nullable=False, server_default="0"),
    # JSON: the GPU's name and memory in use and in total, when the engine uses one.
    sa.Column("gpu", sa.Text, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    # Renewed every heartbeat: a worker not seen for ``worker_stale_seconds`` counts as gone.
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Index("ix_workers_last_seen", "last_seen"),
)
