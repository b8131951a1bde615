"""Idempotency records carry the token of the request that holds them.

Revision ID: 0003_idempotency_claim_token
Revises: 0002_keys_idempotency
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_idempotency_claim_token"
down_revision = "0002_keys_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: records written before this revision have none, and are matched by key alone.
    with op.batch_alter_table("idempotency_records") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("claim_token")
