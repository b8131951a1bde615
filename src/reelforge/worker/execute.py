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
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from reelforge.core.logs import job_context
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import (
    EngineError,
    JobCancelled,
    JobNotFound,
    LeaseLost,
    SpecError,
)
from reelforge.domain.jobs import Job, JobOutputs, Lease, Status
from reelforge.engines.base import Engine, EngineRequest, Frame
from reelforge.media import ENCODE, render_media
from reelforge.storage import layout
from reelforge.store.database import DatabaseError, describe, is_unavailable
from reelforge.worker.control import RunControl
from reelforge.worker.leftovers import workdir_prefix
from reelforge.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)
COMMIT_RETRY_FIRST_SECONDS = 0.25
COMMIT_RETRY_MAX_SECONDS = 2.0
# An object store that is away (restarting, unreachable) must not fail a finished render: the
# upload is tried again while the lease is held (heartbeats keep it), then the job is released.
UPLOAD_RETRY_FIRST_SECONDS = 0.5
UPLOAD_RETRY_MAX_SECONDS = 5.0
UPLOAD_RETRY_WINDOW_SECONDS = 300.0


class StoreUnavailable(Exception):
    """The outputs could not be stored within the retry window; the job goes back to the
    queue (the attempt is not counted: the job did nothing wrong)."""


@dataclass
class JobExecutor:
    runtime: Runtime
    engine: Engine
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)

    def run(self, lease: Lease, control: RunControl) -> None:
        try:
            job = self.runtime.store.get_job(lease.job_id)
        except JobNotFound:  # deleted between claim and start: nothing to do
            log.info("job %s: deleted before it started", lease.job_id)
            return
        # Every line logged while the job runs names it and the request that created it.
        with job_context(job.id, job.request_id):
            if lease.attempt == 1 and job.started_at is not None:
                self.metrics.queue_wait(job.spec.model, job.created_at, job.started_at)
            began = time.monotonic()
            outcome = self._attempt(job, lease, control)
            seconds = time.monotonic() - began
            self.metrics.attempt_ended(self.engine.name, job.spec.model, outcome, seconds)

    def _attempt(self, job: Job, lease: Lease, control: RunControl) -> str:
        """Run the attempt to its end; returns its outcome (completed, failed, cancelled,
        released, lost, or unknown when the database could not say)."""
        queue = self.runtime.queue
        log.info("job %s: attempt %d started (engine %s)", job.id, lease.attempt, self.engine.name)
        try:
            outputs = self._produce(job, lease, control)
            control.check()
            done = self._complete(lease, outputs)
        except DatabaseError as exc:
            # Committed or not is unknown (the reply may be what was lost): the outputs stay;
            # the lease expires and the sweeper retries the job, or the row already has them.
            log.warning(
                "job %s: database unavailable (%s); leaving the attempt to its lease",
                job.id,
                describe(exc),
            )
            return "unknown"
        except JobCancelled:
            outcome = "cancelled"
            self._settle(lease, "cancelled", lambda: queue.cancelled(lease))
        except StoreUnavailable as exc:
            outcome = "released"
            log.warning("job %s: %s; back to the queue", job.id, exc)
            self._settle(lease, "released", lambda: queue.release(lease))
        except LeaseLost:
            if control.released:
                self._settle(lease, "released", lambda: queue.release(lease))
            else:
                log.warning("job %s: lease lost; discarding this attempt's output", job.id)
            self._discard(lease)
            return "released" if control.released else "lost"
        except (EngineError, SpecError) as exc:
            outcome = "failed"
            code = exc.code if isinstance(exc, EngineError) else "invalid_request"
            message = str(exc)
            log.warning("job %s: failed: %s", job.id, message)
            self._settle(lease, "failed", lambda: queue.fail(lease, code, message))
        except Exception:
            outcome = "failed"
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
            if done is not None:
                self.metrics.completed(
                    self.engine.name, job.spec.model, done.compute_seconds, job.spec.seconds
                )
            return "completed"
        self._discard(lease)
        return outcome

    def _produce(self, job: Job, lease: Lease, control: RunControl) -> JobOutputs:
        # Named by the lease: the leftover sweeper tells a dead attempt's directory from a live
        # one by it (reelforge.worker.leftovers). Made before the engine runs: an engine that
        # downloads its result (upstream) writes it here too.
        prefix = workdir_prefix(job.id, lease.token)
        workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=self._tmp_root()))
        try:
            control.restore_state(job.engine_state)
            scratch = workdir / "engine"
            scratch.mkdir()
            request = EngineRequest(job.spec, self._first_frame(job), job.id, scratch)
            output = self.engine.generate(request, control)
            control.set_stage("encoding")
            encode = replace(ENCODE, preset=self.runtime.settings.encode_preset)
            files = render_media(output, job.spec, workdir, settings=encode)
            control.check()
            control.set_progress(0.97)
            keys = layout.attempt_outputs(lease.job_id, lease.token)
            uploads = [
                (keys.thumbnail, files.thumbnail),
                (keys.spritesheet, files.spritesheet),
                (keys.video, files.video),
            ]
            self._upload(lease, uploads, control)
            return keys
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _upload(self, lease: Lease, uploads: list[tuple[str, Path]], control: RunControl) -> None:
        """Store each file (the video last); while the store fails, try again with backoff
        (a cancel or a lost lease still ends the attempt), then give up: ``StoreUnavailable``."""
        deadline = time.monotonic() + UPLOAD_RETRY_WINDOW_SECONDS
        delay, pending = UPLOAD_RETRY_FIRST_SECONDS, list(uploads)
        while True:
            try:
                while pending:
                    self.runtime.blobs.put_file(*pending[0])
                    pending.pop(0)
                return
            except FileNotFoundError:
                raise  # our own file is missing: a bug, not the store
            except OSError as exc:  # the store's errors (S3BlobStore: BlobStoreError) included
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailable(f"storing the outputs failed: {exc}") from exc
                log.warning(
                    "job %s: storing the outputs failed (%s); trying again in %.1f s",
                    lease.job_id,
                    exc,
                    delay,
                )
            control.check()
            time.sleep(delay)
            control.check()
            delay = min(delay * 2, UPLOAD_RETRY_MAX_SECONDS)

    def _complete(self, lease: Lease, outputs: JobOutputs) -> Job | None:
        """Commit the attempt, trying again while the database is unavailable and the lease
        may still be held, so a short outage does not cost a whole render. A commit whose
        reply was lost shows as a lost lease on the next try: the row then has our outputs
        (and None is returned: the completed job was not read back)."""
        deadline = time.monotonic() + self.runtime.settings.lease_seconds
        delay, failed = COMMIT_RETRY_FIRST_SECONDS, False
        while True:
            try:
                return self.runtime.queue.complete(lease, outputs, self.engine.name)
            except LeaseLost:
                if failed and self._has_outputs(lease.job_id, outputs):
                    return None
                raise
            except DatabaseError as exc:
                if not is_unavailable(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "job %s: database unavailable (%s); completing again in %.1f s",
                    lease.job_id,
                    describe(exc),
                    delay,
                )
            failed = True
            time.sleep(delay)
            delay = min(delay * 2, COMMIT_RETRY_MAX_SECONDS)

    def _has_outputs(self, job_id: str, outputs: JobOutputs) -> bool:
        try:
            job = self.runtime.store.get_job(job_id)
        except JobNotFound:
            return False
        return job.status is Status.COMPLETED and job.outputs == outputs

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
        try:
            self.runtime.blobs.delete_prefix(layout.attempt_prefix(lease.job_id, lease.token))
        except OSError as exc:  # the store is away: the winning attempt removes these later
            log.warning("job %s: this attempt's files not removed yet: %s", lease.job_id, exc)

    def _remove_other_attempts(self, lease: Lease) -> None:
        own = layout.attempt_prefix(lease.job_id, lease.token)
        blobs = self.runtime.blobs
        try:
            for key in list(blobs.list_prefix(layout.outputs_prefix(lease.job_id))):
                attempt = layout.attempt_of(key)
                if attempt is not None and attempt != own:
                    blobs.delete_prefix(attempt)
        except OSError as exc:  # committed already; retention removes the job's files later
            log.warning("job %s: earlier attempts' files not removed: %s", lease.job_id, exc)
