"""OpenAI-compatible surface: ``/v1/videos`` objects as the official SDK parses them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from reelforge.api.schemas.common import (
    IMAGE_SOURCE_PATTERN,
    PROMPT_SCHEMA,
    JobPhase,
    WebhookUrl,
)
from reelforge.domain.limits import ALLOWED_SIZES, MAX_IMAGE_FIELD_CHARS, MAX_PROMPT_CHARS
from reelforge.domain.limits import ModelName as VideoModelName

VideoSize = Literal["720x1280", "1280x720", "1024x1792", "1792x1024"]
VideoSeconds = Literal["4", "8", "12"]
VideoStatus = Literal["queued", "in_progress", "completed", "failed"]
VIDEO_ID_PATTERN = r"^video_[0-9a-f]{32}$"


class ImageReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_url: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        pattern=IMAGE_SOURCE_PATTERN,
        description="http(s) URL or data URL of the first frame (JPEG/PNG/WebP, exact size).",
    )
    # Read only to answer it with a clear 400 ("not supported: upload the file"); left out of
    # the schema, which (extra="forbid") then declares it refused.
    file_id: SkipJsonSchema[str | None] = Field(default=None, max_length=200)


class VideoCreateRequest(BaseModel):
    """JSON form of create; multipart carries the same fields (and a file)."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, json_schema_extra=PROMPT_SCHEMA)
    model: VideoModelName = "sora-2"
    seconds: VideoSeconds = Field(default="4", description='A string: "4", "8" or "12".')
    size: VideoSize = Field(
        default="720x1280",
        # OpenAI's four sizes parse; the schema lists those this server makes (the others are
        # refused with a 400 that lists them).
        json_schema_extra={"enum": list(ALLOWED_SIZES)},
        description="Width x height. OpenAI's 1024x1792 and 1792x1024 are refused by this "
        "server's engines.",
    )
    input_reference: ImageReference | None = None
    webhook_url: WebhookUrl = None


class VideoRemixRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, json_schema_extra=PROMPT_SCHEMA)


class VideoError(BaseModel):
    code: str
    message: str


class VideoUsage(BaseModel):
    video_seconds: int = Field(
        description="Seconds of video delivered: the video's length once completed, else 0."
    )
    compute_seconds: float = Field(
        description="Seconds workers spent generating it over all attempts (an attempt counts "
        "once it ends), 3 decimals."
    )


class Video(BaseModel):
    id: str = Field(pattern=VIDEO_ID_PATTERN)
    object: Literal["video"] = "video"
    model: str
    status: VideoStatus
    progress: int = Field(ge=0, le=100)
    created_at: int
    completed_at: int | None
    expires_at: int | None
    prompt: str | None
    size: str
    seconds: str
    remixed_from_video_id: str | None
    error: VideoError | None
    # ReelForge extensions (additive: clients that do not know them ignore them).
    queue_position: int | None = Field(
        default=None,
        ge=0,
        description="ReelForge extension. While queued: how many videos start before this one "
        "(0 = next). Null otherwise.",
    )
    estimated_start_at: int | None = Field(
        default=None,
        description="ReelForge extension. While queued: when it should start (unix seconds), "
        "from the measured speed of recent videos of this model. Null when running, finished, "
        "or nothing has been measured yet.",
    )
    estimated_completion_at: int | None = Field(
        default=None,
        description="ReelForge extension. While queued or in progress: when it should complete "
        "(unix seconds), from measured speed and its own progress. Null when finished or "
        "nothing has been measured yet.",
    )
    phase: JobPhase | None = Field(
        default=None,
        description="ReelForge extension. `queued`; while in progress `loading` (before the "
        "model's first step), `denoising` (the model's steps) or `encoding` (the MP4 and "
        "previews). Null when finished.",
    )
    usage: VideoUsage | None = Field(
        default=None,
        description="ReelForge extension. What the video used: the seconds delivered and the "
        "compute spent; the same numbers `GET /v1/usage` sums.",
    )


class VideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: Literal[True] = True


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    error: OpenAIErrorBody
