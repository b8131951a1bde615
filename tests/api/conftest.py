"""The API tests run in-process against ``create_app`` (``tests/support/apps.py``): one app per
test module, on SQLite and on PostgreSQL (``api_database_url``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.apps import InProcessApp, running_app


@pytest.fixture(scope="module")
def api_app(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None
) -> Iterator[InProcessApp]:
    """The app with its lifespan running (in-process workers), one per test module."""
    data_dir = tmp_path_factory.mktemp("api") / "data"
    with running_app(data_dir, database_url=api_database_url) as app:
        yield app
