"""Create throughput with per-key limits on vs off, in one run, on SQLite and PostgreSQL.

    python bench/bench_limits.py [--creates 400] [--threads 8] \
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Creates go through ``Admission.submit`` (validation, the prompt policy, enqueue: everything a
create does but HTTP) from ``--threads`` threads, alternating rounds between two keys:
  off   a key with no limits (no bucket write, no lock, no ledger read)
  rpm   a key with only a (never reached) rate limit: the row lock and the bucket update
  on    a key with every limit set, high enough never to refuse: the rpm bucket (one more
        write transaction), the key's row lock, the queue count and the day's and month's
        video and compute budgets (ledger reads) on every create
Each round uses two new keys (so a key's queue holds one round's jobs, as under a queue cap) and
alternates which goes first, so both see the same machine noise and the same growing tables.
Reported: the median creates per second of each over the rounds, and on/off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.net.fetch import ImageFetcher
from reelforge.services import build_admission
from reelforge.services.admission import Admission, VideoRequest
from reelforge.services.metrics import Metrics
from reelforge.store.idempotency import StoredResponse
from reelforge.store.keys import ApiKey

ROUNDS = 6
HIGH = {
    "rpm": 1_000_000,
    "max_queued": 1_000_000,
    "daily_video_seconds": 10**9,
    "monthly_video_seconds": 10**9,
    "daily_gpu_seconds": 1e12,
    "monthly_gpu_seconds": 1e12,
}


def render(job: object) -> StoredResponse:
    return StoredResponse(202, "{}", getattr(job, "id", None))


def rate(admission: Admission, key: ApiKey, creates: int, threads: int) -> float:
    request = VideoRequest("a paper boat on a pond, soft morning light", "sora-2", "1280x720", 4)

    def create(_n: int) -> None:
        admission.submit(key.id, request, render=render, key=key)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(create, range(creates)))
    return creates / (time.perf_counter() - started)


def measure(settings: Settings, creates: int, threads: int) -> dict[str, float]:
    runtime = Runtime.open(settings)
    try:
        fetcher = ImageFetcher()  # unused: the creates carry no image
        admission = build_admission(runtime, fetcher, Metrics(runtime.store))
        rates: dict[str, list[float]] = {"off": [], "rpm": [], "on": []}
        warm_up = runtime.keys.create("warm-up").key
        rate(admission, warm_up, creates // 4, threads)  # connections, policy caches
        for round_ in range(ROUNDS):
            # New keys each round: a key's queue holds one round's jobs, as with a queue cap.
            keys = [
                ("off", runtime.keys.create("limits off").key),
                ("rpm", runtime.keys.create("rpm only", {"rpm": HIGH["rpm"]}).key),
                ("on", runtime.keys.create("limits on", HIGH).key),
            ]
            order = keys if round_ % 2 == 0 else keys[::-1]
            for label, key in order:
                rates[label].append(rate(admission, key, creates, threads))
    finally:
        runtime.close()
    median = {label: statistics.median(values) for label, values in rates.items()}
    return {
        "off_per_s": median["off"],
        "rpm_per_s": median["rpm"],
        "on_per_s": median["on"],
        "rpm_over_off": median["rpm"] / median["off"],
        "on_over_off": median["on"] / median["off"],
    }


def fresh_postgres(url: str) -> str:
    schema = f"bench_limits_{int(time.time())}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{url}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=400, help="creates per round and key")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", default=None, help="also measure on this PostgreSQL")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", embedded_workers=False)
        results["sqlite"] = measure(settings, args.creates, args.threads)
        if args.postgres:
            pg = settings.model_copy(update={"database_url": fresh_postgres(args.postgres)})
            results["postgres"] = measure(pg, args.creates, args.threads)
    for backend, figures in results.items():
        print(
            f"{backend:9s} off {figures['off_per_s']:6.1f}/s  rpm {figures['rpm_per_s']:6.1f}/s  "
            f"on {figures['on_per_s']:6.1f}/s  rpm/off {figures['rpm_over_off']:.2f}  "
            f"on/off {figures['on_over_off']:.2f}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
