"""Worker SIGKILL cycles: ``reelforge worker`` processes (slowed testcard engine, 2 s leases)
SIGKILLed at random points of their renders while jobs keep coming, a new worker started after
each kill.

    .venv/bin/python -m bench.chaos.worker_kills [--kills 50] [--workers 2]
        [--database-url postgresql://... | --own-postgres] [--drain-timeout 600] [--seed 1]

SQLite in a temporary data directory; ``--own-postgres``: a PostgreSQL instance of its own
(``initdb`` in a temporary directory); ``--database-url``: a database you give it (only the
run's own jobs are counted). Prints,
after the jobs drained and the surviving workers' sweepers ran: jobs lost (accepted, missing),
failed, duplicated (more than one completed attempt, or outputs beyond the winner's), stuck
(not terminal after the drain timeout), and render directories left in the data directory;
also how many were there right after the kills (what the sweeper had to remove).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support.chaos import (
    WorkerPool,
    add_run_arguments,
    chaos_settings,
    database,
    parse_run_arguments,
    tally,
    worker_kills,
)

from reelforge.core.runtime import Runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="worker processes at once")
    add_run_arguments(parser)
    args = parse_run_arguments(parser)
    with (
        tempfile.TemporaryDirectory(prefix="rf-worker-kills-") as workdir,
        database(args.database_url, args.own_postgres) as url,
    ):
        settings = chaos_settings(Path(workdir) / "data", url)
        runtime = Runtime.open(settings)
        pool = WorkerPool(settings, Path(workdir))
        started = time.monotonic()
        try:
            run = worker_kills(
                runtime, pool, kills=args.kills, workers=args.workers, seed=args.seed,
                say=print if args.verbose else lambda _line: None,
            )  # fmt: skip
            result = tally(runtime, run.job_ids, [settings.data_dir], args.drain_timeout)
        finally:
            pool.stop()
            runtime.close()
    kind = "PostgreSQL" if args.database_url or args.own_postgres else "SQLite"
    print(f"{run.kills} worker SIGKILLs on {kind}, {args.workers} workers, "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    print(f"  {result.line()}")
    print(f"  progress at the kills: median {statistics.median(run.progress_at_kill):.0%}, "
          f"min {min(run.progress_at_kill):.0%}, max {max(run.progress_at_kill):.0%}")  # fmt: skip
    print(f"  kills that left the attempt's render dir behind: {run.left_dirs}/{run.kills}")
    sys.exit(0 if result.clean else 1)


if __name__ == "__main__":
    main()
