"""Fair queueing by key: claim and enqueue latency against plain FIFO, at a deep queue.

    python bench/bench_fairness.py [--jobs 10000] [--keys 100] [--samples 500]
                                   [--postgres postgresql://postgres@127.0.0.1/test]

On SQLite (a file) and, with a URL, on PostgreSQL (a fresh schema), the queue is filled with
``--jobs`` queued jobs from ``--keys`` API keys (skewed: a few keys hold most of the backlog)
and a busy fleet is simulated: 16 jobs of 8 keys are running. Then, in one process and one run,
interleaved sample by sample so drift hits every variant alike:

  claim   the time of ``WorkQueue.claim`` (one transaction: pick, lease, attempt row, event):
            fifo        the claim before fair queueing: ``ORDER BY created_at, id``, no caps
            fair        fair order (``fair_tag``) with the running-cap filter, no cap set
            fair+caps   the same with ``default_max_running=2``: the 8 busy keys are passed
                        over, and on PostgreSQL every claim takes its key's lock and re-counts
          After each sample (untimed) the job is finished and its key enqueues a new one, so
          the depth stays at ``--jobs``.
  enqueue the time of ``Database.enqueue`` with the fair tag read (two index probes and the
          key's weight) and without it (tag 0), alternating.
  empty   a claim that finds nothing because every key with queued jobs is at its cap (the
          worst case: the pick walks the whole queue), fair+caps only.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import psycopg
import sqlalchemy as sa

from reelforge.domain.jobs import Lease, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.db import create_db_engine, migrate
from reelforge.store.queue import WorkQueue
from reelforge.store.tables import jobs

SPEC = GenerationSpec.build("fairness probe", seconds=4, seed=1)
BUSY_KEYS = 8
RUNNING_PER_BUSY_KEY = 2


class FifoQueue(WorkQueue):
    """The claim as it was before fair queueing: oldest ``(created_at, id)``, no caps."""

    def _next_queued(
        self, default_max_running: int | None, passed_over: set[str]
    ) -> sa.Select[tuple[str]]:
        query = (
            sa.select(jobs.c.id)
            .where(jobs.c.status == Status.QUEUED.value)
            .order_by(jobs.c.created_at, jobs.c.id)
            .limit(1)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return query

    def _cap_to_check(self, default_max_running: int | None) -> sa.ColumnElement[Any]:
        return sa.literal(None, sa.Integer)


def without_fair_tags() -> AbstractContextManager[object]:
    """Enqueue as before fair queueing: no tag read, every tag 0."""
    return patch("reelforge.store.jobs.next_fair_tag", return_value=0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"  {name:22s} n={len(ms):5d}  p50={percentile(ms, 0.5):7.3f} ms  "
        f"p99={percentile(ms, 0.99):7.3f} ms  mean={statistics.fmean(ms):7.3f} ms"
    )


def ratio(name: str, values: list[float], baseline: list[float]) -> None:
    p50 = percentile(values, 0.5) / percentile(baseline, 0.5)
    p99 = percentile(values, 0.99) / percentile(baseline, 0.99)
    print(f"  {name:22s} p50 x{p50:.2f}  p99 x{p99:.2f}")


def fill(database: Database, keys: list[str], count: int, rng: random.Random) -> None:
    """``count`` queued jobs, owners drawn with Zipf-like weights (key i: weight 1/(i+1))."""
    weights = [1 / (rank + 1) for rank in range(len(keys))]
    for owner in rng.choices(keys, weights, k=count):
        database.enqueue(SPEC, owner)


def occupy_busy_keys(database: Database, keys: list[str]) -> list[Lease]:
    """Leases on ``RUNNING_PER_BUSY_KEY`` jobs of each of the first ``BUSY_KEYS`` keys (their
    jobs go in first, so they are the head of the queue)."""
    for _ in range(RUNNING_PER_BUSY_KEY):
        for owner in keys[:BUSY_KEYS]:
            database.enqueue(SPEC, owner)
    leases = [database.queue.claim("busy", 3600) for _ in range(BUSY_KEYS * RUNNING_PER_BUSY_KEY)]
    return [lease for lease in leases if lease is not None]


def timed_claim(
    database: Database, claim: Callable[[], Lease | None], samples: list[float]
) -> None:
    start = time.perf_counter()
    lease = claim()
    samples.append(time.perf_counter() - start)
    assert lease is not None
    database.queue.fail(lease, "bench", "benchmark")
    database.enqueue(SPEC, database.jobs.get_job(lease.job_id).owner)


def measure(url: str, args: argparse.Namespace) -> None:
    engine = create_db_engine(url)
    migrate(engine)
    database = Database(engine)
    fifo = FifoQueue(engine, database.jobs)
    rng = random.Random(7)
    keys = [database.keys.create(f"bench-{n}").key.id for n in range(args.keys)]
    started = time.perf_counter()
    busy = occupy_busy_keys(database, keys)
    fill(database, keys, args.jobs, rng)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))
    print(
        f"  filled {args.jobs} jobs from {args.keys} keys in {time.perf_counter() - started:.0f} s"
    )

    claims: dict[str, list[float]] = {"fifo": [], "fair": [], "fair+caps": []}
    variants: dict[str, Callable[[], Lease | None]] = {
        "fifo": lambda: fifo.claim("bench", 600),
        "fair": lambda: database.queue.claim("bench", 600),
        "fair+caps": lambda: database.queue.claim(
            "bench", 600, default_max_running=RUNNING_PER_BUSY_KEY
        ),
    }
    for _ in range(args.samples):
        for name, claim in variants.items():
            timed_claim(database, claim, claims[name])
    for name, values in claims.items():
        report(f"claim {name}", values)
    ratio("fair / fifo", claims["fair"], claims["fifo"])
    ratio("fair+caps / fifo", claims["fair+caps"], claims["fifo"])

    enqueues: dict[str, list[float]] = {"with tag": [], "without tag": []}
    for _ in range(args.samples):
        for name in enqueues:
            owner = rng.choice(keys)
            start = time.perf_counter()
            if name == "without tag":
                with without_fair_tags():
                    database.enqueue(SPEC, owner)
            else:
                database.enqueue(SPEC, owner)
            enqueues[name].append(time.perf_counter() - start)
    for name, values in enqueues.items():
        report(f"enqueue {name}", values)
    ratio("with / without", enqueues["with tag"], enqueues["without tag"])

    empty = measure_empty_claims(database, keys, args)
    report("claim, all keys capped", empty)
    for lease in busy:
        database.queue.fail(lease, "bench", "benchmark")
    database.close()


def measure_empty_claims(
    database: Database, keys: list[str], args: argparse.Namespace
) -> list[float]:
    """Claims that find nothing: every key has 1 running and a cap of 1."""
    held = []
    for owner in keys:
        database.enqueue(SPEC, owner)
    while (lease := database.queue.claim("hold", 3600, default_max_running=1)) is not None:
        held.append(lease)
    samples = []
    for _ in range(max(20, args.samples // 10)):
        start = time.perf_counter()
        assert database.queue.claim("bench", 600, default_max_running=1) is None
        samples.append(time.perf_counter() - start)
    for lease in held:
        database.queue.fail(lease, "bench", "benchmark")
    return samples


def fresh_pg_schema(base: str) -> tuple[str, str]:
    schema = f"rf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return schema, f"{url}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("REELFORGE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("sqlite:")
        measure(f"sqlite:///{Path(tmp) / 'fairness.db'}", args)
    if not args.postgres:
        print("postgres: skipped (pass --postgres URL)")
        return
    schema, url = fresh_pg_schema(args.postgres)
    try:
        print("postgres:")
        measure(url, args)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
