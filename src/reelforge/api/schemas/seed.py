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
    )
    model: Literal["sora-2"] = Field(default="sora-2", description="Model name.")
    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        pattern=IMAGE_SOURCE_PATTERN,
        description="First frame: an http(s) URL or `data:image/{jpeg|png|webp};base64,...`; "
        "at most 10 MB; its pixel size must equal `size`.",
    )
    seconds: Literal["4", "8", "12"] = Field(default="8", description="Length in seconds.")
    size: Literal["720x1280", "1280x720"] = Field(
        default="1280x720", description="Resolution, width x height."
    )
    webhook_url: WebhookUrl = None


class SeedProCreateRequest(BaseModel):
    """The sister ``sora-2-pro`` endpoint: no ``model`` field, two more sizes, 4 s default."""

    prompt: str = Field(
        min_length=1,
        max_length=2000,
        json_schema_extra=PROMPT_SCHEMA,
        description="Text description of the video.",
    )
    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        pattern=IMAGE_SOURCE_PATTERN,
        description="First frame, as for the sora endpoint.",
    )
    seconds: Literal["4", "8", "12"] = Field(default="4", description="Length in seconds.")
    size: Literal["720x1280", "1280x720", "1024x1792", "1792x1024"] = Field(
        default="1280x720",
        # The contract's four sizes parse; the schema lists those this server makes.
        json_schema_extra={"enum": list(ALLOWED_SIZES)},
        description="Resolution. 1024x1792 and 1792x1024 are refused (400) by engines that "
        "cannot make them; the error lists the sizes this server supports.",
    )
    webhook_url: WebhookUrl = None


class TaskError(BaseModel):
    code: int = Field(description="3001-3005: the generator could not complete.")
    title: str
    detail: str


class TaskInfo(BaseModel):
    id: str = Field(description="Task id (a UUID).", pattern=r"^[0-9a-f-]{36}$")
    status: SeedStatus
    created_at: str = Field(pattern=TIMESTAMP_PATTERN, description="ISO-8601 UTC, ms, `Z`.")
    updated_at: str = Field(pattern=TIMESTAMP_PATTERN, description="ISO-8601 UTC, ms, `Z`.")
    error: TaskError | None = Field(default=None, description="Present when status is failed.")
    # ReelForge extensions (additive; omitted when not known).
    queue_position: int | None = Field(
        default=None,
        ge=0,
        description="ReelForge extension. While pending: how many tasks start before this one "
        "(0 = next).",
    )
    estimated_start_at: str | None = Field(
        default=None,
        pattern=TIMESTAMP_PATTERN,
        description="ReelForge extension. While pending: when it should start (ISO-8601 UTC, "
        "ms, `Z`), from the measured speed of recent tasks of this model. Omitted until "
        "something has been measured.",
    )
    estimated_completion_at: str | None = Field(
        default=None,
        pattern=TIMESTAMP_PATTERN,
        description="ReelForge extension. While pending or processing: when it should complete "
        "(ISO-8601 UTC, ms, `Z`), from measured speed and its own progress.",
    )
    phase: JobPhase | None = Field(
        default=None,
        description="ReelForge extension. `queued` while pending; while processing `loading` "
        "(before the model's first step), `denoising` (the model's steps) or `encoding` (the "
        "MP4 and previews). Omitted when finished.",
    )


class SeedTaskResponse(BaseModel):
    task_info: TaskInfo
    videos: list[str] | None = Field(
        default=None,
        description="Present when completed: signed links to the MP4 that need no header "
        "(usable in a <video> tag) and expire after `signed_url_ttl_seconds` (1 h by default).",
    )


class GatewayError(BaseModel):
    status: int
    title: str
    detail: str
    instance: str
    error_code: int = Field(description="2005: the task does not exist (final; stop polling).")
