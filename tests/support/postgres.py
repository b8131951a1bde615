"""PostgreSQL for tests: the server from ``REELFORGE_TEST_POSTGRES_URL``, a fresh schema each.

Without the variable the tests are skipped with a clear reason, unless
``REELFORGE_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_URL = os.environ.get("REELFORGE_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("REELFORGE_REQUIRE_POSTGRES") == "1"


def postgres_url_or_skip() -> str:
    if PG_URL:
        return PG_URL
    reason = (
        "PostgreSQL tests need REELFORGE_TEST_POSTGRES_URL "
        "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
    )
    if REQUIRE_PG:
        pytest.fail(f"REELFORGE_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def fresh_schema(prefix: str = "rf_test") -> Iterator[str]:
    """A SQLAlchemy URL whose search_path is a new, empty schema, dropped afterwards."""
    base = postgres_url_or_skip()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    plain = "postgresql://" + base.split("://", 1)[1]
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = "postgresql+psycopg://" + base.split("://", 1)[1]
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
