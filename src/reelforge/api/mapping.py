"""Explicit mapping between domain jobs and each surface's wire objects.

The status table is in the README ("HTTP API")."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import get_args

from reelforge.api.schemas.common import JobPhase
from reelforge.api.schemas.openai import Video, VideoError, VideoUsage
from reelforge.api.schemas.seed import SeedTaskResponse, TaskError, TaskInfo
from reelforge.domain.events import percent
from reelforge.domain.events import video_id as to_video_id
from reelforge.domain.jobs import Job, Status
from reelforge.services.estimates import NO_ESTIMATE, Estimate

_VIDEO_ID = re.compile(r"video_([0-9a-f]{32})")

_OPENAI_STATUS = {
    Status.QUEUED: "queued",
    Status.RUNNING: "in_progress",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "failed",
}
_SEED_STATUS = {
    Status.QUEUED: "pending",
    Status.RUNNING: "processing",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "failed",
}
_RUNNING_PHASES: dict[str | None, JobPhase] = {
    phase: phase for phase in get_args(JobPhase) if phase != "queued"
}
# The gateway's 3001-3005 mean "the generator could not complete"; 3001 is its generic one.
_SEED_ERROR_CODES = {
    "cancelled": 3002,
    "too_many_attempts": 3003,
    "invalid_request": 3004,
    "engine_load_error": 3005,
}


def job_id_from_video_id(video_id: str) -> str | None:
    """The job id behind ``video_<hex>``, or None when the id is not one of ours."""
    match = _VIDEO_ID.fullmatch(video_id)
    return str(uuid.UUID(match.group(1))) if match else None


def job_id_from_task_id(task_id: str) -> str | None:
    try:
        return str(uuid.UUID(task_id)) if len(task_id) == 36 else None
    except ValueError:
        return None


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def iso_millis(moment: datetime) -> str:
    """``2025-09-21T00:00:00.000Z``: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _phase(job: Job) -> JobPhase | None:
    """``queued``, a running job's stage (``loading`` until its first write), or None."""
    if job.status is Status.QUEUED:
        return "queued"
    if job.status is Status.RUNNING:
        return _RUNNING_PHASES.get(job.stage, "loading")
    return None


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso_millis(moment) if moment is not None else None


def to_video(job: Job, estimate: Estimate = NO_ESTIMATE) -> Video:
    error = None
    if job.status in (Status.FAILED, Status.CANCELLED):
        error = VideoError(
            code=job.error_code or ("cancelled" if job.status is Status.CANCELLED else "failed"),
            message=job.error_message or "the video could not be generated",
        )
    progress = percent(job)
    return Video(
        id=to_video_id(job.id),
        model=job.spec.model,
        status=_OPENAI_STATUS[job.status],  # type: ignore[arg-type]
        progress=progress,
        created_at=int(job.created_at.timestamp()),
        completed_at=unix(job.completed_at),
        expires_at=unix(job.expires_at),
        prompt=job.spec.prompt,
        size=job.spec.size,
        seconds=str(job.spec.seconds),
        remixed_from_video_id=to_video_id(job.remixed_from) if job.remixed_from else None,
        error=error,
        queue_position=estimate.queue_position,
        estimated_start_at=unix(estimate.estimated_start_at),
        estimated_completion_at=unix(estimate.estimated_completion_at),
        phase=_phase(job),
        usage=video_usage(job),
    )


def video_usage(job: Job) -> VideoUsage:
    delivered = job.spec.seconds if job.status is Status.COMPLETED else 0
    return VideoUsage(video_seconds=delivered, compute_seconds=round(job.compute_seconds, 3))


def to_task(
    job: Job, videos: list[str] | None = None, estimate: Estimate = NO_ESTIMATE
) -> SeedTaskResponse:
    error = None
    if job.status in (Status.FAILED, Status.CANCELLED):
        error = TaskError(
            code=_SEED_ERROR_CODES.get(job.error_code or "", 3001),
            title="Task Execution Error",
            detail=job.error_message or "the video could not be generated",
        )
    info = TaskInfo(
        id=job.id,
        status=_SEED_STATUS[job.status],  # type: ignore[arg-type]
        created_at=iso_millis(job.created_at),
        updated_at=iso_millis(job.updated_at),
        error=error,
        queue_position=estimate.queue_position,
        estimated_start_at=_iso_or_none(estimate.estimated_start_at),
        estimated_completion_at=_iso_or_none(estimate.estimated_completion_at),
        phase=_phase(job),
    )
    return SeedTaskResponse(task_info=info, videos=videos)
