"""Store fixtures: a migrated engine on each database, a fake clock, and a Database on both.

The Database here has no PostgreSQL listener, so every wake-up it counts is its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reelforge.store.database import Database
from reelforge.store.db import create_db_engine, migrate
from tests.support.clock import FakeClock


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database(engine: sa.Engine, clock: FakeClock) -> Database:
    return Database(engine, clock=clock)
