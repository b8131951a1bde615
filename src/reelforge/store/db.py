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
# Bounds that turn an unreachable or hung PostgreSQL into a quick DatabaseError (503 with
# Retry-After) instead of a request that hangs: libpq's connect timeout (whole seconds, 2 is its
# minimum), the wait for a pooled connection, and the longest statement. Keepalives and the TCP
# user timeout notice a server that vanished without closing the connection (a dead host).
PG_CONNECT_TIMEOUT_SECONDS = 2
POOL_TIMEOUT_SECONDS = 2.0
PG_STATEMENT_TIMEOUT_MS = 15_000
PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": PG_CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
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
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args=PG_CONNECT_ARGS,
        )
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"REELFORGE_DATABASE_URL is not a usable SQLAlchemy URL: {exc}") from None
    if engine.dialect.name == "postgresql":
        _bound_statements(engine)
    return engine


def _bound_statements(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # SET, not the "options" connect argument: a URL's own options (search_path) stay.
        # Committed at once so a later rollback does not undo it.
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {PG_STATEMENT_TIMEOUT_MS}")
        dbapi_conn.commit()


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
            # Migrations (an index on a large table) and the wait for another process's
            # migration may take longer than a request's statement is allowed to.
            conn.execute(sa.text("SET statement_timeout = 0"))
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                conn.execute(sa.text(f"SET statement_timeout = {PG_STATEMENT_TIMEOUT_MS}"))
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
