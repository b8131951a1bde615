"""``/readyz`` follows the workers actually alive, as the worker registry in the database says.

An API-only node (``serve --no-workers``) in front of an external fleet: ready while nothing
is queued; with jobs queued, ready only while a worker whose heartbeat is fresh has its engine
loaded. The worker here is a real ``WorkerPresence`` (the registry row a ``reelforge worker``
keeps) without slots, so the queued job stays queued while the test looks; the clock is
fake, so staleness is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reelforge.engines.testcard import TestcardEngine
from reelforge.worker.presence import WorkerPresence
from tests.support.apps import InProcessApp, running_app
from tests.support.clock import FakeClock

STALE_SECONDS = 10.0


@pytest.fixture
def api_only(tmp_path: Path, database_url: str) -> Iterator[tuple[InProcessApp, FakeClock]]:
    clock = FakeClock()
    with running_app(
        tmp_path / "data",
        clock=clock,
        database_url=database_url,
        embedded_workers=False,
        worker_stale_seconds=STALE_SECONDS,
    ) as app:
        yield app, clock


def readiness(app: InProcessApp) -> tuple[int, dict[str, Any]]:
    with app.anonymous() as http:
        response = http.get("/readyz")
    return response.status_code, response.json()


def presence(app: InProcessApp) -> WorkerPresence:
    """A worker's registry row, renewed only when the test says (``beat``)."""
    return WorkerPresence(
        app.runtime.database.workers,
        "gpu-1:4242",
        TestcardEngine(),
        concurrency=1,
        interval=3600,
        running=lambda: 0,
    )


def queue_one(app: InProcessApp) -> None:
    with app.client() as http:
        created = http.post("/v1/videos", json={"prompt": "a lighthouse at dusk", "seconds": "4"})
    assert created.status_code == 200, created.text


def test_api_only_node_is_ready_with_nothing_queued_and_no_worker(
    api_only: tuple[InProcessApp, FakeClock],
) -> None:
    app, _clock = api_only
    status, body = readiness(app)
    assert status == 200, body
    assert body["engine_state"] == "external"
    assert body["workers_alive"] == 0 and body["queue_depth"] == 0 and body["reason"] is None


def test_queued_jobs_without_a_live_worker_are_not_ready(
    api_only: tuple[InProcessApp, FakeClock],
) -> None:
    app, clock = api_only
    queue_one(app)
    status, body = readiness(app)
    assert status == 503 and body["status"] == "not_ready"
    assert body["reason"].startswith("1 job queued and no worker seen in the last 10 s")

    worker = presence(app)
    worker.start()
    status, body = readiness(app)
    assert status == 503, "a worker still loading its engine cannot take the job"
    assert "no live worker has its engine loaded (gpu-1:4242: loading)" in body["reason"]

    worker.set_state("loaded")
    status, body = readiness(app)
    assert status == 200, body
    assert body["workers_alive"] == 1 and body["workers_ready"] == 1 and body["queue_depth"] == 1

    clock.advance(STALE_SECONDS + 1)  # no heartbeat for longer than the window
    status, body = readiness(app)
    assert status == 503 and body["workers_alive"] == 0
    worker.beat()
    assert readiness(app)[0] == 200

    worker.set_state("failed", "model directory /models/wan does not exist")
    status, body = readiness(app)
    assert status == 503
    assert "gpu-1:4242: failed (model directory /models/wan does not exist)" in body["reason"]

    worker.set_state("loaded")
    worker.stop()  # a clean stop: the row stays, marked stopped
    status, body = readiness(app)
    assert status == 503 and body["workers_alive"] == 0


def test_embedded_workers_register_themselves(api_app: InProcessApp) -> None:
    status, body = readiness(api_app)
    assert status == 200, body
    assert body["engine_state"] == "loaded"
    assert body["workers_alive"] >= 1 and body["workers_ready"] >= 1
