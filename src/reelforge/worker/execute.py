"""Run one leased job: engine -> media -> blobs -> fenced completion.

Blobs are written under a per-attempt prefix (``storage.layout.attempt_prefix``) before the row is
committed, so a zombie attempt can never overwrite the winner's files; the winner removes the
leftovers of earlier attempts, and a loser removes its own.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from reelforge.core.runtime import Runtime
from reelforge.domain.errors import (
    EngineError,
    JobCancelled,
    JobNotFound,
    LeaseLost,
    SpecError,
)
from reelforge.domain.jobs import Job, JobOutputs, Lease
from reelforge.engines.base import Engine, EngineRequest, Frame
from reelforge.media import ENCODE, render_media
from reelforge.storage import layout
from reelforge.worker.control import RunControl

log = logging.getLogger(__name__)


@dataclass
class JobExecutor:
    runtime: Runtime
    engine: Engine

    def run(self, lease: Lease, control: RunControl) -> None:
        queue = self.runtime.queue
        try:
            job = self.runtime.store.get_job(lease.job_id)
        except JobNotFound:  # deleted between claim and start: nothing to do
            log.info("job %s: deleted before it started", lease.job_id)
            return
        log.info("job %s: attempt %d started (engine %s)", job.id, lease.attempt, self.engine.name)
        try:
            outputs = self._produce(job, lease, control)
            control.check()
            queue.complete(lease, outputs, self.engine.name)
        except JobCancelled:
            self._settle(lease, "cancelled", lambda: queue.cancelled(lease))
        except LeaseLost:
            if control.released:
                self._settle(lease, "released", lambda: queue.release(lease))
            else:
                log.warning("job %s: lease lost; discarding this attempt's output", job.id)
            self._discard(lease)
            return
        except (EngineError, SpecError) as exc:
            code = exc.code if isinstance(exc, EngineError) else "invalid_request"
            message = str(exc)
            log.warning("job %s: failed: %s", job.id, message)
            self._settle(lease, "failed", lambda: queue.fail(lease, code, message))
        except Exception:
            log.exception("job %s: unexpected error", job.id)
            self._settle(
                lease,
                "failed",
                lambda: queue.fail(
                    lease, "internal_error", "the worker hit an unexpected error; see its log"
                ),
            )
        else:
            log.info("job %s: completed", job.id)
            self._remove_other_attempts(lease)
            return
        self._discard(lease)

    def _produce(self, job: Job, lease: Lease, control: RunControl) -> JobOutputs:
        request = EngineRequest(job.spec, self._first_frame(job))
        output = self.engine.generate(request, control)
        workdir = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=self._tmp_root()))
        try:
            control.set_stage("encoding")
            encode = replace(ENCODE, preset=self.runtime.settings.encode_preset)
            files = render_media(output, job.spec, workdir, settings=encode)
            control.check()
            control.set_progress(0.97)
            keys = layout.attempt_outputs(lease.job_id, lease.token)
            blobs = self.runtime.blobs
            blobs.put_file(keys.thumbnail, files.thumbnail)
            blobs.put_file(keys.spritesheet, files.spritesheet)
            blobs.put_file(keys.video, files.video)
            return keys
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _first_frame(self, job: Job) -> Frame | None:
        key = job.spec.first_frame_key
        if key is None:
            return None
        with self.runtime.blobs.open(key) as handle:
            data = handle.read()
        with Image.open(io.BytesIO(data)) as image:
            frame: Frame = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return frame

    def _tmp_root(self) -> Path:
        root = self.runtime.settings.data_dir / "tmp"
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _settle(self, lease: Lease, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except LeaseLost:
            log.warning("job %s: lease lost before it could be marked %s", lease.job_id, what)

    def _discard(self, lease: Lease) -> None:
        self.runtime.blobs.delete_prefix(layout.attempt_prefix(lease.job_id, lease.token))

    def _remove_other_attempts(self, lease: Lease) -> None:
        own = layout.attempt_prefix(lease.job_id, lease.token)
        blobs = self.runtime.blobs
        for key in list(blobs.list_prefix(layout.outputs_prefix(lease.job_id))):
            attempt = layout.attempt_of(key)
            if attempt is not None and attempt != own:
                blobs.delete_prefix(attempt)
