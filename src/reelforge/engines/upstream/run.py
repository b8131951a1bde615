"""One job's life on an upstream: submit (or resume), poll, download, and cancel when asked.

The remote id is saved with the job (``StatefulControl.save_state``) right after the create
answers and before anything waits on it, so an attempt that starts after a crash polls the
same remote job instead of paying for a second render. The saved state::

    {"upstream": "wan-a", "remote_id": "video_123", "submissions": 1,
     "history": ["submitted to wan-a as video_123", ...], "conform": [...]}

Cancel (``JobCancelled`` from the control, which the worker raises within half a second of a
cancel or delete) forwards a cancel upstream. A lost lease or a shutdown does not: another
attempt resumes the remote job.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from reelforge.domain.errors import JobCancelled, LeaseLost
from reelforge.engines.base import EngineRequest, Frame, StatefulControl
from reelforge.engines.upstream.metrics import UpstreamMetrics
from reelforge.engines.upstream.options import UpstreamOptions
from reelforge.engines.upstream.pool import UpstreamPool, UpstreamSlot
from reelforge.engines.upstream.protocol import (
    RemoteJob,
    Submission,
    UpstreamGaveUp,
    UpstreamLost,
    UpstreamRefused,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)
SLICE_SECONDS = 0.25
"""Waits are cut into slices this long, checking for cancel between them."""
FIRST_POLL_SECONDS = 1.0
T = TypeVar("T")


@dataclass(frozen=True)
class RunContext:
    """What every job run shares: options, the pool, metrics, the resubmission cap."""

    options: UpstreamOptions
    pool: UpstreamPool
    metrics: UpstreamMetrics
    max_submissions: int
    clock: Callable[[], float] = time.monotonic


class UpstreamRun:
    def __init__(
        self, context: RunContext, request: EngineRequest, control: StatefulControl
    ) -> None:
        self.ctx = context
        self.request = request
        self.control = control
        self.state: dict[str, Any] = dict(control.saved_state())
        self.state.setdefault("history", [])
        self.state.setdefault("submissions", 0)
        self.slot: UpstreamSlot | None = None
        self.remote_id: str | None = None
        self.deadline = context.clock() + context.options.job_timeout_seconds

    # -- the whole job -------------------------------------------------------------------------

    def fetch_video(self, dest: Path) -> tuple[UpstreamSlot, str]:
        """Get the job's video from an upstream into ``dest``; returns where it came from."""
        try:
            self._resume()
            while True:
                if self.slot is None:
                    self._submit()
                assert self.slot is not None and self.remote_id is not None
                try:
                    self._download(self.slot, self._wait(self.slot, self.remote_id), dest)
                    return self.slot, self.remote_id
                except UpstreamLost as lost:
                    self._lost(str(lost))
        except JobCancelled:
            self._cancel_remote()
            raise
        finally:
            if self.slot is not None:
                self.ctx.pool.release(self.slot)

    def _download(self, slot: UpstreamSlot, finished: RemoteJob, dest: Path) -> None:
        limit = self.ctx.options.max_download_bytes
        gave_up_at = self.ctx.clock() + self.ctx.options.give_up_seconds
        delay = FIRST_POLL_SECONDS
        while True:
            try:
                self._call(slot, "download", lambda s: s.client.download(finished, dest, limit))
                return
            except UpstreamUnavailable as exc:
                self._check_deadline(gave_up_at, f"could not download the video: {exc}")
                self._sleep(delay)
                delay = min(delay * 2, self.ctx.options.poll_max_seconds)

    def note(self, line: str, **values: Any) -> None:
        """Add to the job's history (and its state) and save it with the job."""
        log.info("job %s: %s", self.request.job_id, line)
        self.state["history"] = [*self.state["history"], line][-20:]
        self.state.update(values)
        self.control.save_state(self.state)

    # -- submit / resume -----------------------------------------------------------------------

    def _resume(self) -> None:
        name, remote_id = self.state.get("upstream"), self.state.get("remote_id")
        if not name or not remote_id:
            return
        slot = self.ctx.pool.get(str(name))
        if slot is None:
            self.note(f"upstream {name} is no longer configured; submitting anew", remote_id=None)
            return
        self.ctx.pool.hold(slot)
        self.slot, self.remote_id = slot, str(remote_id)
        self.note(f"resumed polling {remote_id} on {name} after a restart")

    def _submit(self) -> None:
        submission = self._submission()
        gave_up_at = self.ctx.clock() + self.ctx.options.give_up_seconds
        last_error = "every upstream is at its max_in_flight"
        backoff = FIRST_POLL_SECONDS
        while True:
            self._check_deadline(gave_up_at, f"no upstream took the job: {last_error}")
            slot = self.ctx.pool.try_acquire()
            if slot is None:
                self.control.check()
                self.ctx.pool.wait(SLICE_SECONDS)
                continue
            try:
                remote = self._call(slot, "create", lambda s: s.client.create(submission))
            except UpstreamUnavailable as exc:
                self.ctx.pool.release(slot)
                last_error = str(exc)
                self._sleep(backoff)
                backoff = min(backoff * 2, self.ctx.options.poll_max_seconds)
                continue
            except BaseException:
                self.ctx.pool.release(slot)
                raise
            self.slot, self.remote_id = slot, remote.id
            submissions = int(self.state["submissions"]) + 1
            try:
                self.note(
                    f"submitted to {slot.name} as {remote.id}",
                    upstream=slot.name,
                    remote_id=remote.id,
                    submissions=submissions,
                )
            except LeaseLost:
                # The job is another attempt's now, and that attempt cannot know this remote
                # id: stop it rather than leave an orphan rendering upstream.
                self._cancel_remote()
                raise
            return

    def _submission(self) -> Submission:
        submissions = int(self.state["submissions"])
        return Submission(
            spec=self.request.spec,
            first_frame_png=_png(self.request.first_frame),
            # The same key for a retry of the same submission, a new one after a loss.
            idempotency_key=f"reelforge-{self.request.job_id}-{submissions + 1}",
        )

    def _lost(self, reason: str) -> None:
        assert self.slot is not None
        self.ctx.metrics.resubmissions.labels(self.slot.name).inc()
        if int(self.state["submissions"]) >= self.ctx.max_submissions:
            raise UpstreamGaveUp(
                f"{reason}; gave up after submitting the job {self.state['submissions']} times "
                "(the upstream keeps losing its jobs: is it restarting?)",
                "upstream_lost",
            )
        self.ctx.pool.release(self.slot)
        self.slot = None
        self.note(f"{reason}; submitting it again", remote_id=None)

    # -- waiting -------------------------------------------------------------------------------

    def _wait(self, slot: UpstreamSlot, remote_id: str) -> RemoteJob:
        delay = FIRST_POLL_SECONDS
        unreachable_since: float | None = None
        while True:
            self._check_deadline(self.deadline, "the upstream did not finish the job in time")
            try:
                remote = self._call(slot, "poll", lambda s: s.client.get(remote_id))
            except UpstreamUnavailable as exc:
                unreachable_since = unreachable_since or self.ctx.clock()
                limit = unreachable_since + self.ctx.options.give_up_seconds
                self._check_deadline(limit, f"lost contact with the upstream: {exc}")
                self._sleep(delay)
                delay = min(delay * 2, self.ctx.options.poll_max_seconds)
                continue
            unreachable_since = None
            if remote.state == "completed":
                return remote
            if remote.state == "failed":
                raise UpstreamRefused(
                    f"upstream {slot.name} failed the job: "
                    f"{remote.error_message or 'no reason given'}",
                    remote.error_code or "upstream_failed",
                )
            self._report(remote)
            wait = remote.poll_after if remote.poll_after is not None else delay
            self._sleep(min(max(wait, 0.1), self.ctx.options.poll_max_seconds))
            delay = min(delay * 1.5, self.ctx.options.poll_max_seconds)

    def _report(self, remote: RemoteJob) -> None:
        if remote.progress is not None:
            self.control.step(min(max(remote.progress, 0.0), 0.99), 1.0)
        else:
            self.control.check()

    def _sleep(self, seconds: float) -> None:
        end = self.ctx.clock() + seconds
        while (left := end - self.ctx.clock()) > 0:
            self.control.check()
            time.sleep(min(left, SLICE_SECONDS))
        self.control.check()

    def _check_deadline(self, deadline: float, message: str) -> None:
        if self.ctx.clock() >= deadline:
            self._cancel_remote()
            raise UpstreamGaveUp(message)

    # -- calls, health and cancel --------------------------------------------------------------

    def _call(self, slot: UpstreamSlot, operation: str, fn: Callable[[UpstreamSlot], T]) -> T:
        started = self.ctx.clock()
        outcome = "ok"
        try:
            return fn(slot)
        except UpstreamUnavailable as exc:
            outcome = "unavailable"
            self.ctx.pool.failed(slot, str(exc))
            raise
        except UpstreamLost:
            outcome = "lost"
            raise
        except UpstreamRefused:
            outcome = "refused"
            raise
        finally:
            elapsed = self.ctx.clock() - started
            self.ctx.metrics.request(slot.name, operation, outcome, elapsed)
            if outcome in ("ok", "lost", "refused"):
                self.ctx.pool.succeeded(slot, elapsed)

    def _cancel_remote(self) -> None:
        slot, remote_id = self.slot, self.remote_id
        if slot is None or remote_id is None:
            return
        try:
            self._call(slot, "cancel", lambda s: s.client.cancel(remote_id))
        except (UpstreamUnavailable, UpstreamRefused, UpstreamLost) as exc:
            log.warning(
                "job %s: could not cancel %s upstream: %s", self.request.job_id, remote_id, exc
            )
        else:
            log.info("job %s: cancelled %s on %s", self.request.job_id, remote_id, slot.name)


def _png(frame: Frame | None) -> bytes | None:
    if frame is None:
        return None
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
