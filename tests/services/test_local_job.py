"""run_local_job (``reelforge generate``): what its watcher sees, and a Ctrl-C that comes after
the job already finished (the cancel finds a completed job and must leave it be)."""

from __future__ import annotations

from pathlib import Path

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.services.admission import VideoRequest
from reelforge.services.local_job import JobProgress, run_local_job
from tests.support.settings import fast_settings


def test_ctrl_c_after_the_job_finished_keeps_its_result(tmp_path: Path) -> None:
    runtime = Runtime.open(fast_settings(tmp_path / "data", database_url=None))
    seen: list[str] = []

    def watch(update: JobProgress | None) -> None:
        if update is None:
            seen.append("closed")
            return
        seen.append(update.phase)
        if update.job.status.is_terminal:
            raise KeyboardInterrupt  # the user pressed Ctrl-C just as the job completed

    try:
        job, video = run_local_job(
            runtime, VideoRequest("a paper boat", "sora-2", "1280x720", 4), watch=watch
        )
    finally:
        runtime.close()
    assert job.status is Status.COMPLETED and video is not None and video.is_file()
    assert seen[-2:] == ["done", "closed"]
    assert seen[0].startswith("queued (0 ahead)") or seen[0] in ("loading", "denoising")
