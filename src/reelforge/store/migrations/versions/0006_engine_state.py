"""Engine state kept with the job across attempts (an upstream engine's remote job id).

Revision ID: 0006_engine_state
Revises: 0005_limits_usage
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_engine_state"
down_revision = "0005_limits_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("engine_state", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("engine_state")
