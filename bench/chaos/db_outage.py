"""Database outage under load: PostgreSQL stopped (``pg_ctl stop -m immediate``) while creates
arrive at a steady rate through both API surfaces, then started again.

    .venv/bin/python -m bench.chaos.db_outage [--rate 20] [--outage 5] [--before 2] [--after 3]
        [--concurrency 2] [--rounds 1]

A real ``reelforge serve`` (testcard engine, workers in its child process) on a PostgreSQL
instance of its own, made with ``initdb`` in a temporary directory (never the machine's shared
server). Prints, per round:

- lost (accepted, never stored), duplicated (stored without an acknowledgement: a create whose
  client saw an error, so a retry without ``Idempotency-Key`` makes a second job), stuck
  (accepted, not finished within ``--finish-timeout``);
- create answers while the database was away (stop -> ``/readyz`` ready again): status counts,
  latency p50 / p99 / max, and over the whole run; whether every 503 had ``Retry-After``;
- ``/healthz`` latency p50 / p99 / max over the whole run;
- readiness back: seconds from the database accepting connections to the first ``/readyz``
  200 (probed every 50 ms);
- whether the worker process was the same before and after (it resumed without a restart).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.e2e.test_serve_processes import _free_port, worker_children
from tests.support.outage import (
    OutageRun,
    new_token,
    outage_settings,
    run_outage,
    serving,
)
from tests.support.pg_instance import PgInstance, missing_reason

from reelforge.core.runtime import Runtime


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"
    )


def settle(runtime: Runtime, run: OutageRun, timeout: float) -> tuple[int, int, int]:
    """(lost, duplicated, stuck) once every accepted job finished or ``timeout`` passed."""
    accepted = [a.job_id for a in run.answers if a.job_id is not None]
    deadline = time.monotonic() + timeout
    while True:
        jobs = runtime.store.get_jobs(accepted)
        unfinished = [j for j in jobs.values() if not j.status.is_terminal]
        if not unfinished or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    if unfinished:
        print(f"  unfinished: {dict(Counter(j.status.value for j in unfinished))}")
    lost = len(set(accepted) - set(jobs))
    stored = {job.id for job in runtime.store.list_jobs(None, limit=1_000_000)}
    duplicated = len(stored - set(accepted))
    return lost, duplicated, len(unfinished)


def report(run: OutageRun, counts: tuple[int, int, int], same_worker: bool) -> None:
    lost, duplicated, stuck = counts
    during = run.during()
    print(f"  lost {lost}, duplicated {duplicated}, stuck {stuck}")
    print(f"  creates: {dict(Counter(a.status for a in run.answers))} in all")
    print(f"  during the outage: {dict(Counter(a.status for a in during))}")
    print(f"  answer latency during the outage: {percentiles([a.elapsed for a in during])}")
    print(f"  answer latency, whole run: {percentiles([a.elapsed for a in run.answers])}")
    unavailable = [a for a in run.answers if a.status == 503]
    with_retry = sum(1 for a in unavailable if "retry-after" in a.headers)
    print(f"  503 with Retry-After: {with_retry}/{len(unavailable)}")
    print(f"  /healthz: {percentiles([p.elapsed for p in run.health])}")
    readyz = Counter(p.status for p in run.readyz_during())
    print(f"  /readyz while away: {dict(readyz)}, {percentiles([p.elapsed for p in run.ready])}")
    back = (run.ready_again_at - run.back_at) if run.ready_again_at is not None else None
    print(f"  readiness back after the database: {back:.2f} s" if back is not None else "never")
    print(f"  worker process resumed without a restart: {same_worker}")


def one_round(args: argparse.Namespace, workdir: Path) -> None:
    pg = PgInstance()
    try:
        pg.start()
        settings = outage_settings(workdir / "data", pg.url, worker_concurrency=args.concurrency)
        token = new_token(settings)
        with serving(settings, _free_port(), workdir / "serve.log") as served:
            worker = worker_children(served.process.pid)
            run = run_outage(
                lambda: pg.stop("immediate"),
                pg.start,
                served.base_url,
                token,
                rate=args.rate,
                before=args.before,
                outage=args.outage,
                after=args.after,
            )
            runtime = Runtime.open(settings)
            try:
                counts = settle(runtime, run, args.finish_timeout)
            finally:
                runtime.close()
            report(run, counts, worker_children(served.process.pid) == worker)
    finally:
        pg.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="creates per second")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds without database")
    parser.add_argument("--before", type=float, default=2.0)
    parser.add_argument("--after", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=2, help="worker slots")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--finish-timeout", type=float, default=900.0)
    args = parser.parse_args()
    # SIGTERM ends the run through the finally blocks: the PostgreSQL instance is stopped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    reason = missing_reason()
    if reason is not None:
        sys.exit(f"cannot run: {reason}")
    for number in range(args.rounds):
        print(f"round {number + 1}: {args.rate:g} creates/s, database away {args.outage:g} s")
        with tempfile.TemporaryDirectory(prefix="rf-outage-") as workdir:
            one_round(args, Path(workdir))


if __name__ == "__main__":
    main()
