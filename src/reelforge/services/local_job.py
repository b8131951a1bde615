"""One job end to end in this process: what ``reelforge generate`` runs.

The job enters through the same ``Admission`` as the API surfaces (validation, content policy,
face check, retention deadline), then an in-process worker runs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineLoadError
from reelforge.domain.jobs import Job
from reelforge.net.fetch import ImageFetcher
from reelforge.services import build_admission
from reelforge.services.admission import VideoRequest
from reelforge.services.metrics import Metrics
from reelforge.services.retention import RetentionSweeper
from reelforge.worker import Worker

Watch = Callable[[Job | None], None]
POLL_SECONDS = 0.2


def run_local_job(
    runtime: Runtime, request: VideoRequest, *, watch: Watch | None = None
) -> tuple[Job, Path | None]:
    """Admit ``request``, run it on an in-process worker, return the job and its video's path.

    Refusals (``SpecError``, ``PolicyRefused``) happen before any model is loaded. Ctrl-C
    cancels the job (the engine stops within one step) before re-raising.
    """
    # This command may be the only thing ever run on this data directory: expire old jobs here
    # too, not only in `serve`.
    RetentionSweeper(runtime, interval=3600.0).sweep_once()
    with ImageFetcher() as fetcher:
        admission = build_admission(runtime, fetcher, Metrics(runtime.store))
        job = admission.admit(None, request)
    worker = Worker(runtime)
    if not worker.load_engine():
        runtime.store.request_cancel(job.id)
        raise EngineLoadError(worker.engine_error or "the engine could not load")
    worker.start()
    try:
        job = _wait_terminal(runtime, job.id, watch)
    except KeyboardInterrupt:
        runtime.store.request_cancel(job.id)
        job = _wait_terminal(runtime, job.id, None)
    finally:
        if watch is not None:
            watch(None)
        worker.stop(grace=5.0)
    video = runtime.blobs.local_path(job.outputs.video) if job.outputs else None
    return job, video


def _wait_terminal(runtime: Runtime, job_id: str, watch: Watch | None) -> Job:
    pause = threading.Event()
    while True:
        job = runtime.store.get_job(job_id)
        if watch is not None:
            watch(job)
        if job.status.is_terminal:
            return job
        pause.wait(POLL_SECONDS)
