"""Queue benchmarks: enqueue-to-running latency and claim throughput.

    python bench/bench_queue.py [--samples 200] [--postgres postgresql://postgres@127.0.0.1/test]

Latency is ``started_at - created_at`` of each job (both stamped by this machine's clock),
enqueued one at a time into an idle worker, in three set-ups:
  sqlite-embedded   worker threads in the enqueuing process (in-process wake-up)
  sqlite-process    `reelforge worker` in another process (no NOTIFY on SQLite: polling)
  postgres-process  `reelforge worker` in another process (LISTEN/NOTIFY wake-up)
The bench engine fails each job at once, so only queue mechanics are timed.
Claim throughput: N queued jobs drained by 1 and by 8 concurrent claimers on PostgreSQL
(claim + fenced finish per job); the ratio 8/1 shows whether SKIP LOCKED lets them scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineError
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineOutput, EngineRequest, JobControl
from reelforge.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


class InstantFailEngine:
    """Fails every job immediately: the benchmark times the queue, not generation."""

    name = "bench"

    def __init__(self, _settings: Settings | None = None) -> None:
        pass

    def load(self) -> None:
        pass

    def describe(self) -> dict[str, str]:
        return {"engine": "bench"}

    def generate(self, request: EngineRequest, control: JobControl) -> EngineOutput:
        raise EngineError("benchmark engine: no video")


def create_bench_engine(settings: Settings) -> InstantFailEngine:
    return InstantFailEngine(settings)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_latency(rt: Runtime, samples: int) -> list[float]:
    spec = GenerationSpec.build("latency probe", seconds=4, seed=1)
    latencies: list[float] = []
    for _ in range(samples):
        job = rt.database.enqueue(spec)
        while (current := rt.store.get_job(job.id)).started_at is None:
            time.sleep(0.0005)
        latencies.append((current.started_at - current.created_at).total_seconds())
        time.sleep(0.01)  # let the worker go idle again
    return latencies


def latency_embedded(data_dir: Path, samples: int) -> list[float]:
    settings = Settings(data_dir=data_dir, poll_seconds=2.0)
    rt = Runtime.open(settings)
    worker = Worker(rt, engine=InstantFailEngine())
    worker.start()
    time.sleep(0.5)
    try:
        return measure_latency(rt, samples)
    finally:
        worker.stop(grace=2)
        rt.close()


def latency_process(settings: Settings, samples: int) -> list[float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REELFORGE_DATA_DIR": str(settings.data_dir),
        "REELFORGE_DATABASE_URL": settings.resolved_database_url,
        "REELFORGE_ENGINE": "bench.bench_queue:create_bench_engine",
        "REELFORGE_POLL_SECONDS": str(settings.poll_seconds),
    }
    rt = Runtime.open(settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3.0)
        return measure_latency(rt, samples)
    finally:
        proc.terminate()
        proc.wait(30)
        rt.close()


def claim_throughput(rt: Runtime, jobs: int, claimers: int) -> float:
    spec = GenerationSpec.build("throughput probe", seconds=4, seed=1)
    for _ in range(jobs):
        rt.database.enqueue(spec)

    def drain(name: str) -> None:
        while (lease := rt.queue.claim(name, lease_seconds=60)) is not None:
            rt.queue.fail(lease, "bench", "benchmark")

    threads = [threading.Thread(target=drain, args=(f"c{i}",)) for i in range(claimers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return jobs / (time.perf_counter() - start)


def report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"{name:18s} n={len(ms):4d}  p50={percentile(ms, 0.5):7.2f} ms  "
        f"p99={percentile(ms, 0.99):7.2f} ms  mean={statistics.fmean(ms):7.2f} ms"
    )


def fresh_pg_schema(base: str) -> str:
    schema = f"rf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{url}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("REELFORGE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        report("sqlite-embedded", latency_embedded(base / "a", args.samples))
        sqlite = Settings(data_dir=base / "b", poll_seconds=0.25)
        report("sqlite-process", latency_process(sqlite, max(20, args.samples // 4)))
        if not args.postgres:
            print("postgres: skipped (pass --postgres URL)")
            return
        pg = Settings(
            data_dir=base / "c", database_url=fresh_pg_schema(args.postgres), poll_seconds=2.0
        )
        report("postgres-process", latency_process(pg, args.samples))
        rt = Runtime.open(pg.model_copy(update={"database_url": fresh_pg_schema(args.postgres)}))
        one = claim_throughput(rt, args.jobs // 4, 1)
        eight = claim_throughput(rt, args.jobs, 8)
        print(
            f"claim throughput (postgres): 1 claimer {one:7.0f} jobs/s, "
            f"8 claimers {eight:7.0f} jobs/s, ratio {eight / one:.2f}"
        )
        rt.close()


if __name__ == "__main__":
    main()
