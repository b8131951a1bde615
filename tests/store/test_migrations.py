"""The migrations build exactly the schema the table definitions describe, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import reelforge.store.api_tables
import reelforge.store.event_tables
from reelforge.store.tables import metadata


def test_migrated_schema_matches_the_table_definitions(engine: sa.Engine) -> None:
    # Importing the table modules registers their tables on the one metadata.
    assert reelforge.store.api_tables.api_keys.metadata is metadata
    assert reelforge.store.event_tables.job_events.metadata is metadata
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
