"""Migration 0005 enters the jobs that already exist into the usage ledger: a database that
upgrades starts with budgets that count its past (on the UTC day each job was created)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from reelforge.store.db import create_db_engine
from reelforge.store.tables import jobs
from reelforge.store.usage import UsageLedger

BEFORE_LEDGER = "0004_events_webhooks"


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def upgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", "reelforge.store:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def old_job(
    job_id: str, owner: str | None, status: str, seconds: int, created: str
) -> dict[str, object]:
    moment = datetime.fromisoformat(created).replace(tzinfo=UTC)
    return {
        "id": job_id,
        "owner": owner,
        "prompt": "a kite",
        "model": "sora-2",
        "width": 1280,
        "height": 720,
        "seconds": seconds,
        "seed": 1,
        "status": status,
        "created_at": moment,
        "updated_at": moment,
    }


def test_existing_jobs_enter_the_ledger_on_their_creation_day(engine: sa.Engine) -> None:
    upgrade(engine, BEFORE_LEDGER)
    rows = [
        old_job("a", "k1", "completed", 8, "2026-11-30T00:00:01"),
        old_job("b", "k1", "failed", 4, "2026-11-30T10:00:00"),
        old_job("c", "k1", "cancelled", 12, "2026-11-30T11:00:00"),
        old_job("d", "k1", "queued", 4, "2026-11-30T23:59:59"),
        old_job("e", "k1", "running", 8, "2026-11-30T23:30:00"),
        old_job("f", "k1", "completed", 4, "2026-12-01T00:00:00"),
        old_job("g", None, "completed", 12, "2026-11-30T12:00:00"),
    ]
    # Only the columns revision 0004 has (the table definitions now have more).
    with engine.begin() as conn:
        conn.execute(jobs.insert(), rows)
    upgrade(engine, "head")

    summary = [
        (
            row.owner,
            row.day,
            row.model,
            row.jobs,
            row.completed,
            row.failed,
            row.cancelled,
            row.video_seconds_committed,
            row.video_seconds_delivered,
            row.compute_seconds,
        )
        for row in UsageLedger(engine).daily(None, "2026-11-01", "2026-12-31")
    ]
    assert summary == [
        ("", "2026-11-30", "sora-2", 1, 1, 0, 0, 12, 12, 0.0),
        ("k1", "2026-11-30", "sora-2", 5, 1, 1, 1, 20, 8, 0.0),
        ("k1", "2026-12-01", "sora-2", 1, 1, 0, 0, 4, 4, 0.0),
    ]
