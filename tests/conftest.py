"""Shared fixtures. Database-backed tests run on SQLite and, when configured, on PostgreSQL
(``tests/support/postgres.py`` says how; CI makes PostgreSQL mandatory).

Helpers live in ``tests/support/``: settings, the PostgreSQL schema, the polling helper, a fake
clock, test engines, the loopback image server and the live server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from reelforge.core.config import Settings
from tests.support.postgres import fresh_schema
from tests.support.settings import SettingsFactory, fast_settings

if TYPE_CHECKING:
    from tests.support.live import LiveServer
    from tests.support.s3 import S3Bucket, S3Server


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    with fresh_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reelforge.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        overrides.setdefault("database_url", database_url)
        return fast_settings(tmp_path / "data", **overrides)

    return build


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path / "data")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: SQLite in the data dir; else a fresh PostgreSQL schema for this module."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_schema("rf_api") as url:
        yield url


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None
) -> Iterator[LiveServer]:
    """A real server on loopback (uvicorn, in-process workers), one per test module."""
    from tests.support.live import running_server  # the whole app: only where it is used

    data_dir = tmp_path_factory.mktemp("api") / "data"
    with running_server(data_dir, database_url=api_database_url) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 protocol server (moto's server mode, a subprocess) on loopback, one per test
    process; tests take fresh buckets from it (``s3_bucket``)."""
    from tests.support.s3 import S3Server

    with S3Server() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> S3Bucket:
    """A fresh bucket; ``s3_bucket.settings()`` are the settings overrides that use it."""
    return s3_server.bucket()


@pytest.fixture
def policy_ml() -> None:
    """Skips the test without the policy-ml extra (fails it when CI requires the extra)."""
    from tests.support.policy_ml import require_policy_ml

    require_policy_ml()
