"""The usage counters on /metrics: read from the usage ledger at scrape time, by key name
(``local`` for command-line jobs) and model, so every replica reports the same totals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reelforge.domain.jobs import JobOutputs
from reelforge.domain.specs import GenerationSpec
from reelforge.services.metrics import Metrics
from reelforge.store.database import Database
from reelforge.store.db import create_db_engine, migrate
from tests.support.clock import FakeClock

OUTPUTS = JobOutputs("jobs/x/a/video.mp4", "jobs/x/a/t.webp", "jobs/x/a/s.jpg")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database(database_url: str, clock: FakeClock) -> Iterator[Database]:
    engine = create_db_engine(database_url)
    migrate(engine)
    yield Database(engine, clock=clock)
    engine.dispose()


def finish(
    database: Database,
    clock: FakeClock,
    owner: str | None,
    outcome: str,
    *,
    seconds: int = 4,
    compute: float = 1.5,
    model: str = "sora-2",
) -> None:
    job = database.enqueue(GenerationSpec.build("a kite", model, seconds=seconds), owner)
    if outcome == "cancelled":
        database.jobs.request_cancel(job.id)
        return
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    clock.advance(compute)
    if outcome == "completed":
        database.queue.complete(lease, OUTPUTS, "testcard")
    else:
        database.queue.fail(lease, "engine_error", "the model produced NaNs")


def samples(database: Database) -> dict[tuple[str, ...], float]:
    """The usage samples of one scrape: (name, label values...) -> value."""
    text = Metrics(database.jobs, usage=database.usage).render().decode()
    found: dict[tuple[str, ...], float] = {}
    for line in text.splitlines():
        if line.startswith("reelforge_usage_") and "{" in line:
            name, rest = line.split("{", 1)
            labels, value = rest.rsplit("} ", 1)
            pairs = sorted(pair.split("=", 1) for pair in labels.split(","))
            found[(name, *(f"{k}={v.strip(chr(34))}" for k, v in pairs))] = float(value)
    return found


def test_usage_counters_by_key_name_model_and_outcome(database: Database, clock: FakeClock) -> None:
    ci = database.keys.create("ci").key.id
    other_ci = database.keys.create("ci").key.id  # a second key of the same name: summed
    finish(database, clock, ci, "completed", seconds=8, compute=2.5)
    finish(database, clock, other_ci, "completed", seconds=4, compute=1.0)
    finish(database, clock, ci, "failed", compute=0.5)
    finish(database, clock, ci, "cancelled")
    finish(database, clock, None, "completed", model="sora-2-pro", compute=3.0)

    found = samples(database)
    assert found == {
        ("reelforge_usage_video_seconds_total", "key=ci", "model=sora-2"): 12.0,
        ("reelforge_usage_compute_seconds_total", "key=ci", "model=sora-2"): 4.0,
        ("reelforge_usage_jobs_total", "key=ci", "model=sora-2", "outcome=completed"): 2.0,
        ("reelforge_usage_jobs_total", "key=ci", "model=sora-2", "outcome=failed"): 1.0,
        ("reelforge_usage_jobs_total", "key=ci", "model=sora-2", "outcome=cancelled"): 1.0,
        ("reelforge_usage_video_seconds_total", "key=local", "model=sora-2-pro"): 4.0,
        ("reelforge_usage_compute_seconds_total", "key=local", "model=sora-2-pro"): 3.0,
        ("reelforge_usage_jobs_total", "key=local", "model=sora-2-pro", "outcome=completed"): 1.0,
        ("reelforge_usage_jobs_total", "key=local", "model=sora-2-pro", "outcome=failed"): 0.0,
        ("reelforge_usage_jobs_total", "key=local", "model=sora-2-pro", "outcome=cancelled"): 0.0,
    }


def test_an_empty_ledger_exports_the_families_without_samples(database: Database) -> None:
    text = Metrics(database.jobs, usage=database.usage).render().decode()
    for family in ("video_seconds", "compute_seconds", "jobs"):
        assert f"# TYPE reelforge_usage_{family}_total counter" in text
    assert samples(database) == {}
