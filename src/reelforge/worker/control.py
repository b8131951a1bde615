"""RunControl: the JobControl an engine sees, plus the flags the worker sets from outside."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from reelforge.domain.errors import JobCancelled, LeaseLost
from reelforge.domain.jobs import Lease
from reelforge.store.database import DatabaseError

log = logging.getLogger("reelforge.job")

# The engine's share of the job's progress; the rest is muxing, thumbnails and storing.
ENGINE_SHARE = 0.92
CANCEL_POLL_SECONDS = 0.5


class RunControl:
    """Progress and stop flags for one running job.

    ``step`` is called by the engine between steps. It raises at once when a flag is set, and
    at most every ``CANCEL_POLL_SECONDS`` asks the database too, so a cancel made by another
    process (SQLite has no NOTIFY) still stops the engine within a step or half a second.
    """

    def __init__(
        self,
        lease: Lease,
        poll_cancel: Callable[[str], bool],
        store_state: Callable[[Lease, Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.lease = lease
        self._poll_cancel = poll_cancel
        self._store_state = store_state
        self._state: dict[str, Any] = {}
        self._progress = 0.0
        self._stage = "loading"
        self._cancelled = threading.Event()
        self._lost = threading.Event()
        self._released = threading.Event()
        self._last_poll = time.monotonic()
        self.steps = 0

    @property
    def job_id(self) -> str:
        return self.lease.job_id

    @property
    def progress(self) -> float:
        return self._progress

    @property
    def stage(self) -> str:
        return self._stage

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def set_progress(self, fraction: float) -> None:
        self._progress = max(self._progress, min(fraction, 1.0))

    def set_stage(self, stage: str) -> None:
        """``loading`` (before the engine's first step), ``denoising`` (the engine's steps),
        ``encoding`` (media and storing it)."""
        self._stage = stage

    def cancel(self) -> None:
        self._cancelled.set()

    def lose(self) -> None:
        self._lost.set()

    def release(self) -> None:
        self._released.set()

    def step(self, done: float, total: float, stage: str = "") -> None:
        self.steps += 1
        # Engines that hand back frames lazily run their steps while the encoder pulls frames:
        # the job is denoising until its last step, whatever the executor said before.
        self._stage = "denoising" if done < total else "encoding"
        if total > 0:
            self.set_progress(ENGINE_SHARE * done / total)
        self.check()

    def check(self) -> None:
        """Raise when the job must stop: cancelled, lease lost, or released at shutdown."""
        now = time.monotonic()
        if not self._cancelled.is_set() and now - self._last_poll >= CANCEL_POLL_SECONDS:
            self._last_poll = now
            if self._cancel_polled():
                self._cancelled.set()
        # Cancel first: a deleted job also loses its lease, and must stop as cancelled (an
        # engine then cancels what it started elsewhere).
        if self._cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job_id}: another worker owns this job now")
        if self._released.is_set():
            raise LeaseLost(f"job {self.job_id}: released at shutdown")

    def _cancel_polled(self) -> bool:
        try:
            return self._poll_cancel(self.job_id)
        except DatabaseError:
            # The database is away: render on; the heartbeat (which owns the lease) and the
            # next poll find a cancel once it is back, and the lease fences every write.
            return False

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """What earlier attempts saved (the job row's ``engine_state``), read at start."""
        self._state = dict(state)

    def saved_state(self) -> Mapping[str, Any]:
        return dict(self._state)

    def save_state(self, state: Mapping[str, Any]) -> None:
        if self._store_state is not None:
            self._store_state(self.lease, state)  # fenced: raises LeaseLost for a zombie
        self._state = dict(state)

    def log(self, message: str) -> None:
        log.info("job %s: %s", self.job_id, message)
