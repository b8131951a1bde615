"""One job end to end in this process: what ``reelforge generate`` runs.

The job enters through the same ``Admission`` as the API surfaces (validation, content policy,
face check, retention deadline), then an in-process worker runs it. While it waits and runs,
``watch`` gets a ``JobProgress`` every ``POLL_SECONDS``: the job as stored, its queue position
and estimates, and a phase to show (``queued (N ahead)`` -> ``loading`` -> ``denoising`` ->
``encoding`` -> ``done``). The database may be shared with a server, so the job can wait
behind other work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineLoadError, JobFinished
from reelforge.domain.jobs import Job, Status
from reelforge.net.fetch import ImageFetcher
from reelforge.services import build_admission
from reelforge.services.admission import VideoRequest
from reelforge.services.estimates import Estimate, QueueEstimator
from reelforge.services.metrics import Metrics
from reelforge.services.retention import RetentionSweeper
from reelforge.worker import Worker

POLL_SECONDS = 0.2
"""How often the display is refreshed from the database (the worker writes every second)."""


@dataclass(frozen=True, slots=True)
class JobProgress:
    """What a progress display shows of a job at one moment."""

    job: Job
    estimate: Estimate

    @property
    def phase(self) -> str:
        """``queued (N ahead)``, ``loading``, ``denoising``, ``encoding``, ``done``, ``failed``
        or ``cancelled``."""
        job = self.job
        if job.status is Status.QUEUED:
            position = self.estimate.queue_position
            return f"queued ({position} ahead)" if position is not None else "queued"
        if job.status is Status.RUNNING:
            return job.stage or "loading"  # claimed; the first stage write is due
        return "done" if job.status is Status.COMPLETED else job.status.value


Watch = Callable[[JobProgress | None], None]
"""Called with each ``JobProgress``, then once with None when the job is over."""


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
        _cancel(runtime, job.id)
        raise EngineLoadError(worker.engine_error or "the engine could not load")
    worker.start()
    try:
        job = _wait_terminal(runtime, job.id, watch)
    except KeyboardInterrupt:
        _cancel(runtime, job.id)
        job = _wait_terminal(runtime, job.id, None)
    finally:
        if watch is not None:
            watch(None)
        worker.stop(grace=5.0)
    video = runtime.blobs.local_path(job.outputs.video) if job.outputs else None
    return job, video


def _cancel(runtime: Runtime, job_id: str) -> None:
    """Ask the job to stop; one that finished meanwhile is left as it ended."""
    with suppress(JobFinished):
        runtime.store.request_cancel(job_id)


def _wait_terminal(runtime: Runtime, job_id: str, watch: Watch | None) -> Job:
    pause = threading.Event()
    estimator = QueueEstimator(runtime, clock=runtime.store.clock)
    while True:
        job = runtime.store.get_job(job_id)
        if watch is not None:
            watch(JobProgress(job, estimator.estimate(job)))
        if job.status.is_terminal:
            return job
        pause.wait(POLL_SECONDS)
