"""Database engines: SQLite (WAL, busy timeout, IMMEDIATE write transactions) or PostgreSQL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event

from reelforge.domain.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Arbitrary constant: every ReelForge process takes this PostgreSQL advisory lock to migrate.
MIGRATION_LOCK_ID = 0x5EE1F0

WRITE = {"reelforge_write": True}
"""Execution options for a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""


def create_db_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the pragmas and transaction handling ReelForge relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"REELFORGE_DATABASE_URL is not a usable SQLAlchemy URL: {exc}") from None


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so we can emit BEGIN IMMEDIATE ourselves.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A write transaction that starts deferred can fail with SQLITE_BUSY when it upgrades
        # its lock, without waiting; IMMEDIATE takes the write lock up front and waits.
        immediate = conn.get_execution_options().get("reelforge_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def check_connection(engine: sa.Engine) -> None:
    """Fail at start, with one line, when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(
            f"cannot connect to database {engine.url.render_as_string(hide_password=True)}: "
            f"{reason}; check REELFORGE_DATABASE_URL"
        ) from None


def migrate(engine: sa.Engine) -> None:
    """Apply Alembic migrations up to head; safe when several processes start at once."""
    config = Config()
    config.set_main_option("script_location", "reelforge.store:migrations")
    with _migration_lock(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[sa.Connection]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                conn.commit()
        return
    database = engine.url.database
    lock_path = Path(f"{database}.migrate.lock") if database and database != ":memory:" else None
    with engine.connect() as conn:
        if lock_path is None:
            yield conn
            return
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield conn
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
