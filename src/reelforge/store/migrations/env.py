"""Alembic environment: ReelForge always passes a live connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from reelforge.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through reelforge.store.db.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
