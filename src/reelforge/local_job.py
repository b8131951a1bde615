"""One job end to end in this process: what ``reelforge generate`` runs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from reelforge.config import Settings
from reelforge.domain.errors import EngineLoadError
from reelforge.domain.jobs import Job
from reelforge.domain.specs import GenerationSpec, parse_size
from reelforge.runtime import Runtime
from reelforge.worker import Worker

Watch = Callable[[Job | None], None]
POLL_SECONDS = 0.2


def run_local_job(
    settings: Settings,
    prompt: str,
    *,
    image: Path | None = None,
    seconds: int = 8,
    size: str = "1280x720",
    seed: int | None = None,
    model: str = "sora-2",
    watch: Watch | None = None,
) -> tuple[Job, Path | None]:
    """Queue one job, run it on an in-process worker, return the job and its video's path.

    Ctrl-C cancels the job (the engine stops within one step) before re-raising.
    """
    runtime = Runtime.open(settings)
    job_id = str(uuid.uuid4())
    first_frame_key = _store_first_frame(runtime, job_id, image, size) if image else None
    spec = GenerationSpec.build(prompt, model, size, seconds, seed, first_frame_key)
    worker = Worker(settings, runtime=runtime)
    if not worker.load_engine():
        raise EngineLoadError(worker.engine_error or "the engine could not load")
    job = runtime.store.create_job(spec, job_id=job_id)
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


def _store_first_frame(runtime: Runtime, job_id: str, image: Path, size: str) -> str:
    from reelforge.media import decode_first_frame

    width, height = parse_size(size)
    _rgb, png = decode_first_frame(image.read_bytes(), width, height)
    key = f"inputs/{job_id}/first_frame.png"
    runtime.blobs.put_bytes(key, png)
    return key


def _wait_terminal(runtime: Runtime, job_id: str, watch: Watch | None) -> Job:
    pause = threading.Event()
    while True:
        job = runtime.store.get_job(job_id)
        if watch is not None:
            watch(job)
        if job.status.is_terminal:
            return job
        pause.wait(POLL_SECONDS)
