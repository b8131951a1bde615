"""Job events: what happened to a job, as webhooks and event streams announce it.

Event names follow OpenAI's video webhooks (``video.completed``, ``video.failed``) and add the
rest of a job's life. Every state change writes its event in the same transaction as the
change (the outbox), so an event exists exactly when its change committed.
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from reelforge.domain.jobs import Job, Status

VIDEO_ID_PREFIX = "video_"

Surface = Literal["openai", "seed"]
"""The API surface a job was created on."""


class EventType(enum.StrEnum):
    QUEUED = "video.queued"
    STARTED = "video.started"
    PROGRESS = "video.progress"
    COMPLETED = "video.completed"
    FAILED = "video.failed"
    CANCELLED = "video.cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED)


TERMINAL_EVENTS = {
    Status.COMPLETED: EventType.COMPLETED,
    Status.FAILED: EventType.FAILED,
    Status.CANCELLED: EventType.CANCELLED,
}
DEFAULT_WEBHOOK_EVENTS: tuple[EventType, ...] = (
    EventType.COMPLETED,
    EventType.FAILED,
    EventType.CANCELLED,
)
"""What an endpoint (or a create's ``webhook_url``) receives unless it asks for more."""

PROGRESS_STEP_PERCENT = 10
"""``video.progress`` is recorded each time the shown percentage crosses a multiple of this."""


def percent(job: Job) -> int:
    """The progress every surface shows: whole percent, rounded down, 100 once completed."""
    return 100 if job.status is Status.COMPLETED else progress_percent(job.progress)


def progress_percent(progress: float) -> int:
    """A progress fraction as the whole percent shown (rounded down, within 0-100)."""
    return max(0, min(int(progress * 100), 100))


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One recorded event. ``seq`` orders all events (an SSE stream's ``id``); ``id`` is the
    event's public id (the webhook's ``webhook-id`` and the body's ``id``)."""

    seq: int
    id: str
    job_id: str
    owner: str | None
    type: EventType
    created_at: datetime
    payload: str


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def video_id(job_id: str) -> str:
    """The OpenAI surface's id of a job: ``video_`` + the UUID's 32 hex digits (job ids are
    lower-case canonical UUIDs)."""
    return VIDEO_ID_PREFIX + job_id.replace("-", "").lower()


def event_data(job: Job) -> dict[str, Any]:
    """The job as an event carries it: ``id`` in the creating surface's form (``video_...``;
    a seed task's uuid), ``task_id`` (the uuid) always, and what changed."""
    data: dict[str, Any] = {
        "id": job.id if job.surface == "seed" else video_id(job.id),
        "task_id": job.id,
        "object": "video",
        "status": job.status.value,
        "progress": percent(job),
        "model": job.spec.model,
        "size": job.spec.size,
        "seconds": str(job.spec.seconds),
    }
    if job.status in (Status.FAILED, Status.CANCELLED):
        data["error"] = {"code": job.error_code, "message": job.error_message}
    return data


def render_payload(event_id: str, event_type: EventType, job: Job, at: datetime) -> str:
    """The webhook body, in OpenAI's event shape; rendered once, sent the same on every retry."""
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type.value,
        "created_at": int(at.timestamp()),
        "data": event_data(job),
    }
    return json.dumps(body, separators=(",", ":"))
