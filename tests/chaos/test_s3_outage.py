"""The S3 protocol server stopped while jobs reach their uploads, then started again (the CI cut
of ``bench/chaos/s3_outage.py``): the attempts whose uploads failed retry, every job completes
once after the store returns, the API never serves part of a video as a whole one (a download
is a full, probe-able MP4 or an error), and every video is served whole at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.core.runtime import Runtime
from tests.support.chaos import chaos_settings, tally
from tests.support.chaos_s3 import s3_outage
from tests.support.chaos_serve import ServeProcess, unserved
from tests.support.outage import new_token
from tests.support.s3 import S3Server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_s3_stopped_during_uploads(tmp_path: Path) -> None:
    with S3Server() as s3:  # its own: the shared one must not go away under other tests
        bucket = s3.bucket()
        settings = chaos_settings(
            tmp_path / "data",
            embedded_workers_mode="process",
            worker_concurrency=2,
            **bucket.settings(),
        )
        token = new_token(settings)
        runtime = Runtime.open(settings)
        server = ServeProcess(settings, tmp_path / "serve.log")
        try:
            server.start()
            run = s3_outage(runtime, server, bucket, token, jobs=2, outage=2.0)
            result = tally(runtime, run.job_ids, [settings.data_dir], timeout=240)
            jobs = list(runtime.store.get_jobs(run.job_ids).values())
            missing = unserved(server.base_url, token, jobs)
        finally:
            server.stop()
            runtime.close()
    log = (tmp_path / "serve.log").read_text()
    assert result.clean, result.line()
    assert missing == run.unsaved_by_copy == 0
    during, after = run.counts("away"), run.counts("up", "back")
    assert during.get("bad", 0) == after.get("bad", 0) == 0, (during, after)
    assert sum(during.values()) > 0, "nothing downloaded while the store was away"
    assert after.get("full", 0) > 0, after
    assert "storing the outputs failed" in log, "no upload met the outage"
