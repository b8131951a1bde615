"""Shared fixtures. Database-backed tests run on SQLite and, when configured, on PostgreSQL.

PostgreSQL tests use ``REELFORGE_TEST_POSTGRES_URL`` (CI sets it to the local server) and get a
fresh schema each. Without it they are skipped with a clear reason, unless
``REELFORGE_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reelforge.core.config import Settings

PG_URL = os.environ.get("REELFORGE_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("REELFORGE_REQUIRE_POSTGRES") == "1"
REPO_ROOT = Path(__file__).resolve().parent.parent

SettingsFactory = Callable[..., Settings]


def _postgres_url_or_skip() -> str:
    if PG_URL:
        return PG_URL
    reason = "PostgreSQL tests need REELFORGE_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
    if REQUIRE_PG:
        pytest.fail(f"REELFORGE_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = _postgres_url_or_skip()
    schema = f"rf_test_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    url = (
        base
        if base.startswith("postgresql+psycopg://")
        else base.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reelforge.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings with short leases and polls so lifecycle tests finish quickly."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "lease_seconds": 5.0,
        "heartbeat_seconds": 0.5,
        "poll_seconds": 0.2,
        "sweep_seconds": 0.5,
        "shutdown_grace_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        overrides.setdefault("database_url", database_url)
        return fast_settings(tmp_path / "data", **overrides)

    return build


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path / "data")


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a ``reelforge`` subprocess that uses the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    env.update(
        {
            "REELFORGE_DATA_DIR": str(settings.data_dir),
            "REELFORGE_DATABASE_URL": settings.resolved_database_url,
            "REELFORGE_ENGINE": settings.engine,
            "REELFORGE_LEASE_SECONDS": str(settings.lease_seconds),
            "REELFORGE_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
            "REELFORGE_POLL_SECONDS": str(settings.poll_seconds),
            "REELFORGE_SWEEP_SECONDS": str(settings.sweep_seconds),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.engine_options:
        import json

        env["REELFORGE_ENGINE_OPTIONS"] = json.dumps(settings.engine_options)
    env.update(extra)
    return env
