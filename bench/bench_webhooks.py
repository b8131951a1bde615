"""Webhook outbox dispatch on PostgreSQL: throughput and latency with 1 and 4 dispatchers.

    python bench/bench_webhooks.py [--postgres postgresql://postgres@127.0.0.1/test]
                                   [--backlog 2000] [--samples 300] [--interval 0.02]

Each dispatcher is its own process (one sending thread, its own connections and LISTEN), like
`reelforge worker` processes on a fleet; the receiver is a threaded HTTP server on loopback in
this process that answers 200 at once. Per dispatcher count, on a fresh schema:

  throughput  ``--backlog`` deliveries (one ``video.queued`` per job enqueued while no
              dispatcher runs) drained by the dispatchers: (n - 1) / (last - first arrival).
  latency     with the dispatchers idle, one job every ``--interval`` s: from the event's
              commit-time stamp (``webhook_deliveries.created_at``) to the receiver having read
              the request body; NOTIFY wakes the dispatchers, so no poll interval is in it.

Nothing runs the jobs: only event -> delivery mechanics are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.specs import GenerationSpec

ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """Records when each event id arrived (time.time(), after the body was read)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                with receiver.lock:
                    receiver.arrivals.setdefault(json.loads(body)["id"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def fresh_pg_schema(base: str) -> str:
    schema = f"rf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{url}?options=-csearch_path%3D{schema}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_dispatchers(
    count: int, database_url: str, data_dir: Path
) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REELFORGE_DATA_DIR": str(data_dir),
        "REELFORGE_DATABASE_URL": database_url,
        "REELFORGE_WEBHOOK_ALLOW_PRIVATE": '["127.0.0.1/32"]',
        "REELFORGE_WEBHOOK_DISPATCHERS": "1",
    }
    command = [sys.executable, __file__, "--serve-dispatcher"]
    return [subprocess.Popen(command, env=env, stdout=subprocess.PIPE) for _ in range(count)]


def wait_ready(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("a dispatcher process failed to start")


def wait_count(receiver: Receiver, total: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while receiver.count() < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {receiver.count()} of {total} deliveries arrived")
        time.sleep(0.01)


def wait_arrival(receiver: Receiver, event_id: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while (arrived := receiver.arrivals.get(event_id)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"event {event_id} was not delivered within {timeout:g} s")
        time.sleep(0.0005)
    return arrived


def run(dispatchers: int, args: argparse.Namespace, base: Path) -> dict[str, float]:
    database_url = fresh_pg_schema(args.postgres)
    data_dir = base / f"d{dispatchers}"
    runtime = Runtime.open(Settings(data_dir=data_dir, database_url=database_url))
    receiver = Receiver()
    key = runtime.keys.create("bench").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "bench", ["video.queued"])
    spec = GenerationSpec.build("bench", seconds=4, seed=1)
    for _ in range(args.backlog):  # 1. a backlog, with no dispatcher running
        runtime.database.enqueue(spec, key)
    procs = start_dispatchers(dispatchers, database_url, data_dir)
    try:
        wait_ready(procs)
        wait_count(receiver, args.backlog)
        times = sorted(receiver.arrivals.values())
        throughput = (len(times) - 1) / (times[-1] - times[0])
        latencies = []  # 2. one event at a time into idle dispatchers
        for _ in range(args.samples):
            job = runtime.database.enqueue(spec, key)
            [delivery] = runtime.webhooks.deliveries.list_deliveries(job_id=job.id)
            arrived = wait_arrival(receiver, delivery.event_id)
            latencies.append((arrived - delivery.created_at.timestamp()) * 1000)
            time.sleep(args.interval)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
        receiver.server.shutdown()
        runtime.close()
    return {
        "throughput": throughput,
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
    }


def serve_dispatcher() -> None:
    """A dispatcher process: one Runtime (own pool, own LISTEN), one WebhookDispatcher."""
    from reelforge.core.config import load_settings
    from reelforge.notify.dispatcher import WebhookDispatcher

    runtime = Runtime.open(load_settings())
    dispatcher = WebhookDispatcher(runtime)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dispatcher.start()
    print("ready", flush=True)
    stop.wait()
    dispatcher.stop()
    runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--serve-dispatcher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_dispatcher:
        serve_dispatcher()
        return
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, 4):
            results[count] = run(count, args, Path(tmp))
            r = results[count]
            print(
                f"{count} dispatcher(s): {r['throughput']:.0f} deliveries/s; committed -> "
                f"received p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms",
                flush=True,
            )
    one, four = results[1], results[4]
    print(
        f"ratio 4/1: throughput {four['throughput'] / one['throughput']:.2f}x, "
        f"p50 latency {four['p50'] / one['p50']:.2f}x, p99 {four['p99'] / one['p99']:.2f}x"
    )


if __name__ == "__main__":
    main()
