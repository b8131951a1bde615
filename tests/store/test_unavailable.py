"""What counts as the database being unavailable (a 503 and a retry, not a bug), and the bounds
that make an unreachable PostgreSQL fail fast."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from reelforge.store.database import describe, is_unavailable
from reelforge.store.db import PG_STATEMENT_TIMEOUT_MS, create_db_engine


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nobody listens once the socket is closed


def test_a_refused_connection_is_unavailable() -> None:
    engine = create_db_engine(f"postgresql://postgres@127.0.0.1:{_closed_port()}/none")
    with pytest.raises(sa.exc.SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert is_unavailable(caught.value)
    assert "\n" not in describe(caught.value) and "refused" in describe(caught.value).lower()
    engine.dispose()


def test_a_bad_statement_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(sa.exc.SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(sa.text("SELECT no_such_column FROM no_such_table"))
    engine.dispose()
    # SQLite says OperationalError for a missing table too: still a bug, answered as a 500.
    assert isinstance(caught.value, sa.exc.OperationalError)
    assert not is_unavailable(caught.value)


def test_a_locked_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
        with pytest.raises(sa.exc.OperationalError) as caught, engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM t"))
        engine.dispose()
    finally:
        holder.close()
    assert "locked" in str(caught.value.orig)
    assert is_unavailable(caught.value)


@pytest.mark.postgres
def test_postgres_sessions_have_a_statement_timeout(pg_schema_url: str) -> None:
    engine = create_db_engine(pg_schema_url)
    try:
        with engine.connect() as conn:
            shown = conn.execute(sa.text("SHOW statement_timeout")).scalar_one()
            with pytest.raises(sa.exc.OperationalError) as caught:
                conn.execute(sa.text("SET LOCAL statement_timeout = 50; SELECT pg_sleep(2)"))
        assert shown == f"{PG_STATEMENT_TIMEOUT_MS // 1000}s"
        assert is_unavailable(caught.value)
    finally:
        engine.dispose()
