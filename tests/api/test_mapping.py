"""reelforge.api.mapping directly: each internal status on both surfaces, ids both ways, and
the wire objects built from a job (the table in the README, "HTTP API")."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from reelforge.api.mapping import (
    iso_millis,
    job_id_from_task_id,
    job_id_from_video_id,
    to_task,
    to_video,
    to_video_id,
    unix,
)
from reelforge.domain.jobs import Job, JobOutputs, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.services.estimates import Estimate

JOB_ID = "123e4567-e89b-12d3-a456-426614174000"
VIDEO_ID = "video_123e4567e89b12d3a456426614174000"
CREATED = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)


def job(status: Status = Status.QUEUED, **changes: object) -> Job:
    base = Job(
        id=JOB_ID,
        owner="0123456789ab",
        spec=GenerationSpec.build("a calm lake", size="720x1280", seconds=4, seed=7),
        status=status,
        progress=0.0,
        attempts=0,
        cancel_requested=False,
        created_at=CREATED,
        updated_at=CREATED + timedelta(seconds=2),
        started_at=None,
        completed_at=None,
        expires_at=None,
        error_code=None,
        error_message=None,
        outputs=None,
        engine=None,
        lease_owner=None,
        lease_token=None,
        lease_expires_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


STATUSES = [
    (Status.QUEUED, "queued", "pending"),
    (Status.RUNNING, "in_progress", "processing"),
    (Status.COMPLETED, "completed", "completed"),
    (Status.FAILED, "failed", "failed"),
    (Status.CANCELLED, "failed", "failed"),
]


def test_every_status_is_mapped() -> None:
    assert {row[0] for row in STATUSES} == set(Status)


@pytest.mark.parametrize(("status", "openai", "seed"), STATUSES, ids=[s[0] for s in STATUSES])
def test_status_on_both_surfaces(status: Status, openai: str, seed: str) -> None:
    assert to_video(job(status)).status == openai
    assert to_task(job(status)).task_info.status == seed


def test_video_id_round_trip() -> None:
    assert to_video_id(JOB_ID) == VIDEO_ID
    assert job_id_from_video_id(VIDEO_ID) == JOB_ID
    fresh = str(uuid.uuid4())
    assert job_id_from_video_id(to_video_id(fresh)) == fresh


def test_video_id_accepts_any_uuid_spelling() -> None:
    assert to_video_id(JOB_ID.upper()) == VIDEO_ID
    assert to_video_id(JOB_ID.replace("-", "")) == VIDEO_ID


@pytest.mark.parametrize(
    "video_id",
    [
        JOB_ID,  # a task id is not a video id
        VIDEO_ID.removeprefix("video_"),
        "video_" + JOB_ID,  # dashes
        VIDEO_ID.upper(),
        "video_123E4567E89B12D3A456426614174000",
        VIDEO_ID[:-1],
        VIDEO_ID + "0",
        VIDEO_ID + "\n",
        "vid_123e4567e89b12d3a456426614174000",
        "video_" + "g" * 32,
        "",
    ],
)
def test_invalid_video_ids_are_none(video_id: str) -> None:
    assert job_id_from_video_id(video_id) is None


def test_task_id_is_the_canonical_job_id() -> None:
    assert job_id_from_task_id(JOB_ID) == JOB_ID
    assert job_id_from_task_id(JOB_ID.upper()) == JOB_ID


@pytest.mark.parametrize(
    "task_id",
    [
        JOB_ID.replace("-", ""),  # 32 hex: a UUID, but not the task id's spelling
        VIDEO_ID,
        JOB_ID[:-1] + "g",
        JOB_ID[:-1],
        "nope",
        "x" * 300,
        "",
    ],
)
def test_invalid_task_ids_are_none(task_id: str) -> None:
    assert job_id_from_task_id(task_id) is None


def test_times_on_the_wire() -> None:
    assert iso_millis(CREATED) == "2026-01-02T03:04:05.678Z"
    east = CREATED.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert iso_millis(east) == "2026-01-02T03:04:05.678Z"
    assert unix(CREATED) == int(CREATED.timestamp()) and unix(None) is None


def test_queued_video_object() -> None:
    video = to_video(job(progress=0.42, expires_at=CREATED + timedelta(days=1)))
    assert video.id == VIDEO_ID and video.model == "sora-2" and video.prompt == "a calm lake"
    assert (video.size, video.seconds, video.progress) == ("720x1280", "4", 42)
    assert video.created_at == int(CREATED.timestamp()) and video.completed_at is None
    assert video.expires_at == int(CREATED.timestamp()) + 86400
    assert video.error is None and video.remixed_from_video_id is None


def test_completed_video_is_100_percent_and_a_remix_names_its_source() -> None:
    source = str(uuid.uuid4())
    video = to_video(job(Status.COMPLETED, progress=0.5, remixed_from=source))
    assert video.progress == 100
    assert video.remixed_from_video_id == "video_" + uuid.UUID(source).hex


@pytest.mark.parametrize(("progress", "expected"), [(-0.5, 0), (1.7, 100)])
def test_video_progress_is_clamped(progress: float, expected: int) -> None:
    assert to_video(job(Status.RUNNING, progress=progress)).progress == expected


def test_failed_video_carries_the_error() -> None:
    failed = to_video(job(Status.FAILED, error_code="engine_error", error_message="boom"))
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == ("engine_error", "boom")
    cancelled = to_video(job(Status.CANCELLED))
    assert cancelled.error is not None and cancelled.error.code == "cancelled"
    bare = to_video(job(Status.FAILED))
    assert bare.error is not None and bare.error.code == "failed" and bare.error.message


def test_task_object() -> None:
    task = to_task(job(Status.RUNNING))
    info = task.task_info
    assert info.id == JOB_ID and info.error is None and task.videos is None
    assert info.created_at == "2026-01-02T03:04:05.678Z"
    assert info.updated_at == "2026-01-02T03:04:07.678Z"
    outputs = JobOutputs("v.mp4", "t.jpg", "s.jpg")
    done = to_task(job(Status.COMPLETED, outputs=outputs), ["https://x/v.mp4"])
    assert done.videos == ["https://x/v.mp4"] and done.task_info.error is None


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        (Status.CANCELLED, "cancelled", 3002),
        (Status.FAILED, "too_many_attempts", 3003),
        (Status.FAILED, "invalid_request", 3004),
        (Status.FAILED, "engine_load_error", 3005),
        (Status.FAILED, "engine_error", 3001),
        (Status.FAILED, None, 3001),
    ],
)
def test_failed_task_error_codes(status: Status, error_code: str | None, expected: int) -> None:
    failed = job(status, error_code=error_code, error_message="it broke")
    error = to_task(failed).task_info.error
    assert error is not None
    assert (error.code, error.title, error.detail) == (expected, "Task Execution Error", "it broke")


# -- ReelForge extensions: queue position, estimates and phase ----------------------------------

EXTENSIONS = ("queue_position", "estimated_start_at", "estimated_completion_at")
ESTIMATE = Estimate(3, CREATED + timedelta(seconds=30), CREATED + timedelta(seconds=42))


def test_video_carries_the_estimate_as_unix_seconds_and_null_when_unknown() -> None:
    video = to_video(job(), ESTIMATE)
    assert video.queue_position == 3
    assert video.estimated_start_at == int(CREATED.timestamp()) + 30
    assert video.estimated_completion_at == int(CREATED.timestamp()) + 42
    plain = to_video(job()).model_dump()
    # Every key is present on the OpenAI surface, null when there is nothing to say.
    assert {k: plain[k] for k in EXTENSIONS} == dict.fromkeys(EXTENSIONS)


def test_task_carries_the_estimate_as_iso_millis_and_omits_it_when_unknown() -> None:
    info = to_task(job(), estimate=ESTIMATE).task_info
    assert info.queue_position == 3
    assert info.estimated_start_at == "2026-01-02T03:04:35.678Z"
    assert info.estimated_completion_at == "2026-01-02T03:04:47.678Z"
    wire = to_task(job()).model_dump(exclude_none=True)["task_info"]
    assert not set(EXTENSIONS) & set(wire)


@pytest.mark.parametrize(
    ("status", "stage", "expected"),
    [
        (Status.QUEUED, None, "queued"),
        (Status.RUNNING, "denoising", "denoising"),
        (Status.RUNNING, "encoding", "encoding"),
        (Status.RUNNING, None, "loading"),  # claimed, its first progress write still due
        (Status.RUNNING, "something new", "loading"),  # never a value the schema does not list
        (Status.COMPLETED, "encoding", None),
        (Status.CANCELLED, None, None),
    ],
)
def test_phase_says_what_the_job_is_doing(
    status: Status, stage: str | None, expected: str | None
) -> None:
    assert to_video(job(status, stage=stage)).phase == expected
    assert to_task(job(status, stage=stage)).task_info.phase == expected
