"""S3 server stopped during uploads: ``reelforge serve`` (workers in its child process, slowed
testcard engine) with its media in a bucket on a loopback S3 protocol server (moto), stopped as
jobs reach their uploads and started again ``--outage`` seconds later; creates go on meanwhile
and every completed job's video is downloaded through the API over and over, before, during and
after the outage.

    .venv/bin/python -m bench.chaos.s3_outage [--jobs 4] [--outage 5] [--rounds 1]
        [--database-url postgresql://...]

Prints, per round: jobs lost, failed, duplicated, stuck, render directories left; completed
videos not served whole at the end; the downloads while the store was away and after it came
back, by outcome (``full``: a 200 with every declared byte, probed as a video by ffprobe;
``cut``: the body ended before its Content-Length, which every HTTP client reports as an error;
``bad``: a 200 with all its bytes that is not a whole video, which must be 0; else the status
code); how many upload retries the workers logged; whether the copy of the bucket (moto keeps
objects in memory, see ``tests/support/chaos_s3.py``) missed a commit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.support.chaos import chaos_settings, exit_on_sigterm, tally
from tests.support.chaos_s3 import s3_outage
from tests.support.chaos_serve import ServeProcess, unserved
from tests.support.outage import new_token
from tests.support.s3 import S3Server

from reelforge.core.runtime import Runtime


def one_round(args: argparse.Namespace, workdir: Path) -> bool:
    with S3Server() as s3:
        bucket = s3.bucket()
        settings = chaos_settings(
            workdir / "data",
            args.database_url,
            embedded_workers_mode="process",
            worker_concurrency=args.concurrency,
            **bucket.settings(),
        )
        token = new_token(settings)
        runtime = Runtime.open(settings)
        server = ServeProcess(settings, workdir / "serve.log")
        try:
            server.start()
            run = s3_outage(runtime, server, bucket, token, jobs=args.jobs, outage=args.outage,
                            say=print)  # fmt: skip
            result = tally(runtime, run.job_ids, [settings.data_dir], args.drain_timeout)
            missing = unserved(
                server.base_url, token, list(runtime.store.get_jobs(run.job_ids).values())
            )
        finally:
            server.stop()
            runtime.close()
    log = (workdir / "serve.log").read_text()
    during, after = run.counts("away"), run.counts("up", "back")
    print(f"  {result.line()}")
    print(f"  completed videos not served whole: {missing}")
    print(f"  S3 away {run.away_seconds:.1f} s (stop to objects restored)")
    print(f"  downloads while the store was away: {during}")
    print(f"  downloads before the stop and after the return: {after}")
    print(
        f"  downloads while the harness restored the bucket (not judged): {run.counts('restoring')}"
    )
    retries, released = log.count("storing the outputs failed"), log.count("back to the queue")
    print(f"  upload retries logged by the workers: {retries}, attempts released: {released}")
    print(f"  commits the bucket copy missed: {run.unsaved_by_copy}")
    bad = during.get("bad", 0) + after.get("bad", 0)
    return result.clean and not missing and not bad and not run.unsaved_by_copy


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="created just before the outage")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds without S3")
    parser.add_argument("--concurrency", type=int, default=2, help="worker slots")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    args = parser.parse_args()
    exit_on_sigterm()
    clean = True
    for number in range(args.rounds):
        print(f"round {number + 1}: S3 away {args.outage:g} s, {args.jobs} jobs at their uploads")
        with tempfile.TemporaryDirectory(prefix="rf-s3-outage-") as workdir:
            clean = one_round(args, Path(workdir)) and clean
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
