"""Operator visibility: the worker registry, admin keys, and the request id a job came from.

Revision ID: 0007_operator
Revises: 0006_engine_state
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reelforge.store.types import UTCDateTime

revision = "0007_operator"
down_revision = "0006_engine_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "workers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("models", sa.Text, nullable=False, server_default="[]"),
        sa.Column("facts", sa.Text, nullable=False, server_default="{}"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("concurrency", sa.Integer, nullable=False, server_default="1"),
        sa.Column("running", sa.Integer, nullable=False, server_default="0"),
        sa.Column("gpu", sa.Text, nullable=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_index("ix_workers_last_seen", "workers", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_workers_last_seen", "workers")
    op.drop_table("workers")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("admin")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("request_id")
