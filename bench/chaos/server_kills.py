"""``reelforge serve`` SIGKILL cycles: the server (workers in its child process, slowed
testcard engine, 2 s leases) SIGKILLed mid-job while jobs are created through its API, then
started again on the same port. Odd cycles kill the server alone (its worker process sees it
gone, finishes or releases its jobs within the grace and exits); even cycles kill the worker
process with it (a host crash: the leases expire and are swept).

    .venv/bin/python -m bench.chaos.server_kills [--kills 10] [--own-postgres]
        [--concurrency 2] [--drain-timeout 600] [--seed 1]

Prints, after the jobs drained: jobs lost, failed, duplicated, stuck, render directories left,
completed videos the API did not serve whole, creates refused while the server was down, and
worker processes still running long after their server died.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.support.chaos import (
    add_run_arguments,
    chaos_settings,
    database,
    parse_run_arguments,
    tally,
)
from tests.support.chaos_serve import ServeProcess, server_kills, unserved
from tests.support.outage import new_token

from reelforge.core.runtime import Runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2, help="worker slots")
    add_run_arguments(parser)
    args = parse_run_arguments(parser)
    with (
        tempfile.TemporaryDirectory(prefix="rf-server-kills-") as workdir,
        database(args.database_url, args.own_postgres) as url,
    ):
        settings = chaos_settings(
            Path(workdir) / "data",
            url,
            embedded_workers_mode="process",
            worker_concurrency=args.concurrency,
        )
        token = new_token(settings)
        runtime = Runtime.open(settings)
        server = ServeProcess(settings, Path(workdir) / "serve.log")
        started = time.monotonic()
        try:
            server.start()
            say = print if args.verbose else lambda _line: None
            run = server_kills(runtime, server, token, kills=args.kills, seed=args.seed, say=say)
            result = tally(runtime, run.job_ids, [settings.data_dir], args.drain_timeout)
            jobs = list(runtime.store.get_jobs(run.job_ids).values())
            missing = unserved(server.base_url, token, jobs)
        finally:
            server.stop()
            runtime.close()
    kind = "PostgreSQL" if args.database_url or args.own_postgres else "SQLite"
    print(f"{run.kills} serve SIGKILLs on {kind}, {time.monotonic() - started:.0f} s")
    print(f"  {result.line()}")
    print(f"  completed videos not served whole: {missing}")
    print(f"  creates refused while the server was down: {run.refused}")
    print(f"  worker processes outliving their server's death: {run.orphans_left}")
    sys.exit(0 if result.clean and not missing and not run.orphans_left else 1)


if __name__ == "__main__":
    main()
