"""EventStreamSession: which Server-Sent Events one job's stream sends, decided from what the
watch hub reports. No I/O, so the rules are tested without a server.

- Recorded events (from the job's event log) are sent with ``id:`` = their ``seq``, in order,
  each with the job as that event recorded it.
- Between them the job's row is the truth: ``queued`` again when the queue position moves,
  ``started`` when it starts, ``progress`` when progress or stage moves and at least every
  ``progress_every`` seconds while running, the terminal event when it ends (then the stream
  closes). These carry the last ``seq`` seen as their ``id``, so a client resuming with it is
  replayed exactly the recorded events it has not seen.
- Progress never goes backwards within an attempt (a requeued job starts again at 0 with a new
  ``started``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

from sse_starlette import ServerSentEvent

from reelforge.domain.events import JobEvent, progress_percent
from reelforge.domain.jobs import Job, Status
from reelforge.services.estimates import NO_ESTIMATE, Estimate
from reelforge.services.watch import JobUpdate, Opening, job_as_of

Render = Callable[[Job, Estimate], str]
"""The job as the surface's own object (JSON), e.g. the Video that GET /v1/videos/{id} returns."""

PROGRESS_EVERY = 1.0
RETRY_MS = 2000
"""The ``retry:`` hint: how long a browser waits before reconnecting after a drop."""

_TERMINAL_NAMES = {
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
}


def event_name(event: JobEvent) -> str:
    """``video.started`` -> ``started``."""
    return event.type.value.removeprefix("video.")


class EventStreamSession:
    def __init__(
        self,
        render: Render,
        *,
        progress_every: float = PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self._every = progress_every
        self._clock = clock
        self.finished = False
        self._seq = 0
        self._job: Job | None = None
        self._estimate = NO_ESTIMATE
        self._sent: Job | None = None  # the job as last sent
        self._position: int | None = None
        self._progress_at = -math.inf
        self._first = True

    # -- inputs --------------------------------------------------------------------------------

    def opening(self, opening: Opening) -> list[ServerSentEvent]:
        """Replay (events after the client's Last-Event-ID), then the current state."""
        self._job, self._estimate = opening.job, opening.estimate
        out: list[ServerSentEvent] = []
        for event in opening.replay:
            out += self._recorded(event)
        self._seq = max(self._seq, opening.last_seq)
        if not self.finished:
            out += self._current(opening.job, initial=True)
        return out

    def on_update(self, update: JobUpdate) -> list[ServerSentEvent]:
        if update.job is None:  # deleted: nothing more will happen; a reconnect gets 404
            self.finished = True
            return []
        self._job, self._estimate = update.job, update.estimate
        out: list[ServerSentEvent] = []
        for event in update.events:
            out += self._recorded(event)
        if not self.finished:
            out += self._current(update.job, initial=False)
        return out

    def on_tick(self) -> list[ServerSentEvent]:
        """A ``progress`` event when one is due (running, nothing sent for ``progress_every``)."""
        if self.finished or self.seconds_until_due() > 0 or self._job is None:
            return []
        job = self._job if self._job.status is Status.RUNNING else self._sent
        assert job is not None
        return [self._emit("progress", job)]

    def seconds_until_due(self) -> float:
        """How long the stream may wait for news before ``on_tick`` has something to send."""
        if self._sent is None or self._sent.status is not Status.RUNNING:
            return math.inf
        return max(0.0, self._progress_at + self._every - self._clock())

    # -- decisions -----------------------------------------------------------------------------

    def _recorded(self, event: JobEvent) -> list[ServerSentEvent]:
        if event.seq <= self._seq or self._job is None:
            return []  # sent already (the hub may repeat what the opening read)
        self._seq = event.seq
        job = job_as_of(self._job, event)
        if event.type.is_terminal:
            self.finished = True
        if event_name(event) == "started":
            self._sent = None  # a new attempt: progress starts again
        return [self._emit(event_name(event), job)]

    def _current(self, job: Job, *, initial: bool) -> list[ServerSentEvent]:
        sent = self._sent
        if job.status.is_terminal:
            self.finished = True
            return [self._emit(_TERMINAL_NAMES[job.status], job)]
        if job.status is Status.QUEUED:
            position = self._estimate.queue_position
            moved = sent is None or sent.status is not Status.QUEUED or position != self._position
            return [self._emit("queued", job)] if initial or moved else []
        if sent is None or sent.status is not Status.RUNNING:
            starting = not initial or job.progress == 0
            return [self._emit("started" if starting else "progress", job)]
        if initial or self._advanced(job, sent):
            return [self._emit("progress", job)]
        return []

    @staticmethod
    def _advanced(job: Job, sent: Job) -> bool:
        moved = progress_percent(job.progress) > progress_percent(sent.progress)
        return moved or job.stage != sent.stage

    def _emit(self, name: str, job: Job) -> ServerSentEvent:
        sent = self._sent
        if job.status is Status.RUNNING and sent is not None and sent.status is Status.RUNNING:
            job = replace(job, progress=max(job.progress, sent.progress))
        estimate = self._estimate if self._job and job.status is self._job.status else NO_ESTIMATE
        self._sent, self._position = job, estimate.queue_position
        if job.status is Status.RUNNING:
            self._progress_at = self._clock()
        retry, self._first = (RETRY_MS if self._first else None), False
        return ServerSentEvent(
            data=self._render(job, estimate),
            event=name,
            id=str(self._seq) if self._seq else None,
            retry=retry,
        )
