"""The worker registry: rows written and read back whole, renewed, pruned after a day; the
oldest queued job's age for the operator view."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.workers import GpuMemory, WorkerRecord
from tests.support.clock import FakeClock

STALE = timedelta(seconds=30)


def record(clock: FakeClock, worker_id: str = "a" * 32, **changes: object) -> WorkerRecord:
    now = clock()
    base = WorkerRecord(
        id=worker_id,
        name="gpu-1:4242",
        host="gpu-1",
        pid=4242,
        engine="diffusers",
        state="loading",
        started_at=now,
        last_seen=now,
        models=("Wan-AI/Wan2.2-TI2V-5B-Diffusers",),
        facts={"device": "cuda:0", "dtype": "bfloat16"},
        concurrency=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_row_reads_back_as_written(database: Database, clock: FakeClock) -> None:
    registry = database.workers
    first = record(clock)
    registry.register(first)
    assert registry.list() == [first]
    clock.advance(5)
    loaded = record(
        clock,
        started_at=first.started_at,
        state="loaded",
        running=1,
        gpu=GpuMemory("NVIDIA H200", 40 * 2**30, 141 * 2**30),
    )
    registry.report(loaded)
    assert registry.list() == [loaded]


def test_liveness_needs_a_fresh_heartbeat_and_a_worker_that_did_not_stop(
    clock: FakeClock,
) -> None:
    row = record(clock, state="loaded")
    assert row.alive(clock(), STALE) and row.can_run_jobs(clock(), STALE)
    assert not record(clock, state="loading").can_run_jobs(clock(), STALE)
    assert not record(clock, state="stopped").alive(clock(), STALE)
    later = clock.advance(31)
    assert not row.alive(later, STALE)


def test_workers_gone_for_a_day_are_forgotten_and_a_pruned_one_comes_back(
    database: Database, clock: FakeClock
) -> None:
    registry = database.workers
    old = record(clock, "o" * 32)
    registry.register(old)
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    registry.register(record(clock, "n" * 32))
    assert [row.id for row in registry.list()] == ["n" * 32]
    registry.report(replace(old, last_seen=clock()))  # the old one was only quiet: back again
    # Most recently started first.
    assert [row.id for row in registry.list()] == ["n" * 32, "o" * 32]
    clock.advance(60)
    registry.report(replace(old, last_seen=clock()))
    assert [row.id for row in registry.list(seen_since=clock())] == ["o" * 32]


def test_oldest_queued_job(database: Database, clock: FakeClock) -> None:
    assert database.stats.oldest_queued_at() is None
    spec = GenerationSpec.build("a lighthouse", seconds=4, seed=1)
    first = database.enqueue(spec)
    clock.advance(10)
    database.enqueue(spec)
    assert database.stats.oldest_queued_at() == first.created_at
