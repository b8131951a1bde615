"""Seed surface (MuleRun-style gateway): ``/vendors/openai/v1/sora/generation``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.api.schemas.common import (
    IMAGE_SOURCE_PATTERN,
    PROMPT_SCHEMA,
    JobPhase,
    WebhookUrl,
)
from reelforge.domain.limits import ALLOWED_SIZES, MAX_IMAGE_FIELD_CHARS

SeedStatus = Literal["pending", "processing", "completed", "failed"]
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


class SeedCreateRequest(BaseModel):
    """A video generation task for the sora endpoint."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prompt": "A serene sunset over a calm ocean, with gentle waves lapping "
                    "against the shore",
                    "model": "sora-2",
                    "seconds": "8",
                    "size": "1280x720",
                }
            ]
        }
    )

    prompt: str = Field(
        min_length=1,
        max_length=2000,
        json_schema_extra=PROMPT_SCHEMA,
        description="Text description of the video.",
        examples=["A serene sunset over a calm ocean, with gentle waves lapping the shore"],
    )
    model: Literal["sora-2"] = Field(
        default="sora-2", description="Model name.", examples=["sora-2"]
    )
    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        pattern=IMAGE_SOURCE_PATTERN,
        description="First frame: an http(s) URL or `data:image/{jpeg|png|webp};base64,...`; "
        "at most 10 MB; its pixel size must equal `size`.",
        examples=["https://example.com/frames/harbour-1280x720.png"],
    )
    seconds: Literal["4", "8", "12"] = Field(
        default="8", description="Length in seconds.", examples=["8"]
    )
    size: Literal["720x1280", "1280x720"] = Field(
        default="1280x720", description="Resolution, width x height.", examples=["1280x720"]
    )
    webhook_url: WebhookUrl = None


class SeedProCreateRequest(BaseModel):
    """The sister ``sora-2-pro`` endpoint: no ``model`` field, two more sizes, 4 s default."""

    prompt: str = Field(
        min_length=1,
        max_length=2000,
        json_schema_extra=PROMPT_SCHEMA,
        description="Text description of the video.",
        examples=["Close-up of rain on a harbour window at night, neon reflections"],
    )
    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        pattern=IMAGE_SOURCE_PATTERN,
        description="First frame, as for the sora endpoint.",
        examples=["https://example.com/frames/harbour-1280x720.png"],
    )
    seconds: Literal["4", "8", "12"] = Field(
        default="4", description="Length in seconds.", examples=["4"]
    )
    size: Literal["720x1280", "1280x720", "1024x1792", "1792x1024"] = Field(
        default="1280x720",
        # The contract's four sizes parse; the schema lists those this server makes.
        json_schema_extra={"enum": list(ALLOWED_SIZES)},
        description="Resolution. 1024x1792 and 1792x1024 are refused (400) by engines that "
        "cannot make them; the error lists the sizes this server supports.",
        examples=["1280x720"],
    )
    webhook_url: WebhookUrl = None


class TaskError(BaseModel):
    """Why a task failed."""

    code: int = Field(
        description="3001-3005: the generator could not complete (3002: cancelled).",
        examples=[3002],
    )
    title: str = Field(description="A short name for the failure.", examples=["Cancelled"])
    detail: str = Field(
        description="What went wrong, in words.", examples=["the task was cancelled"]
    )


class TaskInfo(BaseModel):
    """A task's state."""

    id: str = Field(
        description="Task id (a UUID).",
        pattern=r"^[0-9a-f-]{36}$",
        examples=["3f2b9c4e-8d7a-41b6-a5c0-e9f1d2b3a4c5"],
    )
    status: SeedStatus = Field(
        description="`pending`, `processing`, then `completed` or `failed` (a cancelled task "
        "is `failed` with error code 3002).",
        examples=["processing"],
    )
    created_at: str = Field(
        pattern=TIMESTAMP_PATTERN,
        description="ISO-8601 UTC, ms, `Z`.",
        examples=["2026-12-01T09:30:00.000Z"],
    )
    updated_at: str = Field(
        pattern=TIMESTAMP_PATTERN,
        description="ISO-8601 UTC, ms, `Z`.",
        examples=["2026-12-01T09:30:41.250Z"],
    )
    error: TaskError | None = Field(default=None, description="Present when status is failed.")
    # ReelForge extensions (additive; omitted when not known).
    queue_position: int | None = Field(
        default=None,
        ge=0,
        description="ReelForge extension. While pending: how many tasks start before this one "
        "(0 = next).",
        examples=[2],
    )
    estimated_start_at: str | None = Field(
        default=None,
        pattern=TIMESTAMP_PATTERN,
        description="ReelForge extension. While pending: when it should start (ISO-8601 UTC, "
        "ms, `Z`), from the measured speed of recent tasks of this model. Omitted until "
        "something has been measured.",
        examples=["2026-12-01T09:31:10.000Z"],
    )
    estimated_completion_at: str | None = Field(
        default=None,
        pattern=TIMESTAMP_PATTERN,
        description="ReelForge extension. While pending or processing: when it should complete "
        "(ISO-8601 UTC, ms, `Z`), from measured speed and its own progress.",
        examples=["2026-12-01T09:32:20.000Z"],
    )
    phase: JobPhase | None = Field(
        default=None,
        description="ReelForge extension. `queued` while pending; while processing `loading` "
        "(before the model's first step), `denoising` (the model's steps) or `encoding` (the "
        "MP4 and previews). Omitted when finished.",
        examples=["denoising"],
    )


class SeedTaskResponse(BaseModel):
    """A task, as create, query, cancel and its events answer it."""

    task_info: TaskInfo = Field(description="The task's state.")
    videos: list[str] | None = Field(
        default=None,
        description="Present when completed: signed links to the MP4 that need no header "
        "(usable in a <video> tag) and expire after `signed_url_ttl_seconds` (1 h by default).",
        examples=[
            [
                "https://reelforge.example.com/files/videos/3f2b9c4e-8d7a-41b6-a5c0-e9f1d2b3a4c5"
                ".mp4?expires=1764637290&signature=q3Vh0l7Yw1c2b9T0n8mXy5kPz4rJ6sLdAe2fGhIjKlM"
            ]
        ],
    )


class GatewayError(BaseModel):
    """The error body of every seed-surface answer that is not a success."""

    status: int = Field(description="The HTTP status, repeated.", examples=[400])
    title: str = Field(description="A short name for the error.", examples=["Invalid Parameters"])
    detail: str = Field(
        description="What was wrong and how to fix it.",
        examples=["seconds: '5' is not one of '4', '8', '12'"],
    )
    instance: str = Field(
        description="The path that was called.", examples=["/vendors/openai/v1/sora/generation"]
    )
    error_code: int = Field(
        description="A stable number to branch on: 1001 invalid parameters or a content "
        "policy refusal, 1003 model not allowed, 1005 method not allowed, 2005 the task does "
        "not exist (final; stop polling), 4009 a conflict, 4029 a limit of the key, 5003 "
        "unavailable for a moment (retry).",
        examples=[1001],
    )
