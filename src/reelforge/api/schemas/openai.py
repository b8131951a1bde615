"""OpenAI-compatible surface: ``/v1/videos`` objects as the official SDK parses them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from pydantic.json_schema import SkipJsonSchema

from reelforge.api.schemas.common import (
    IMAGE_SOURCE_PATTERN,
    PROMPT_SCHEMA,
    JobPhase,
    WebhookUrl,
)
from reelforge.domain.limits import (
    ALLOWED_SIZES,
    MAX_IMAGE_FIELD_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
)
from reelforge.domain.limits import ModelName as VideoModelName

VideoSize = Literal["720x1280", "1280x720", "1024x1792", "1792x1024"]
VideoSeconds = Literal["4", "8", "12"]
VideoStatus = Literal["queued", "in_progress", "completed", "failed"]
VIDEO_ID_PATTERN = r"^video_[0-9a-f]{32}$"


class ImageReference(BaseModel):
    """The first frame of a JSON create, by URL (multipart uploads the file instead)."""

    model_config = ConfigDict(extra="forbid")

    image_url: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_FIELD_CHARS,
        pattern=IMAGE_SOURCE_PATTERN,
        description="http(s) URL or data URL of the first frame (JPEG/PNG/WebP, exact size).",
        examples=["https://example.com/frames/harbour-1280x720.png"],
    )
    # Read only to answer it with a clear 400 ("not supported: upload the file"); left out of
    # the schema, which (extra="forbid") then declares it refused.
    file_id: SkipJsonSchema[str | None] = Field(default=None, max_length=200)


def _integral_float_as_int(value: Any) -> Any:
    """JSON Schema counts 42.0 as an integer; a fraction or a string is left for StrictInt."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED), BeforeValidator(_integral_float_as_int)]


class VideoCreateRequest(BaseModel):
    """A video to make: JSON, or multipart/form-data with the same fields and the first frame
    as a file in `input_reference`."""

    prompt: str = Field(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        json_schema_extra=PROMPT_SCHEMA,
        description="What the video shows: name the shot, subject, action, setting and light.",
        examples=["Wide shot of a red kite over a windy beach at golden hour, waves rolling in"],
    )
    model: VideoModelName = Field(
        default="sora-2", description="The model to generate with.", examples=["sora-2"]
    )
    seconds: VideoSeconds = Field(
        default="4", description='Length: a string, "4", "8" or "12".', examples=["8"]
    )
    size: VideoSize = Field(
        default="720x1280",
        # OpenAI's four sizes parse; the schema lists those this server makes (the others are
        # refused with a 400 that lists them).
        json_schema_extra={"enum": list(ALLOWED_SIZES)},
        description="Width x height. OpenAI's 1024x1792 and 1792x1024 are refused by this "
        "server's engines.",
        examples=["1280x720"],
    )
    input_reference: ImageReference | None = Field(
        default=None,
        description="Optional first frame by URL; its pixel size must equal `size`.",
    )
    webhook_url: WebhookUrl = None
    # In JSON the schema says integer, so "42" is refused, but 42.0 is the same JSON integer;
    # the multipart reader turns the form's text into a number first.
    seed: Seed | None = Field(
        default=None,
        description="ReelForge extension. The engine's seed: the same prompt, size, seconds, "
        "model and seed make the same video. Unset: a random one.",
        examples=[42],
    )


class VideoRemixRequest(BaseModel):
    """A new prompt for a completed video; model, size and length stay the source's."""

    prompt: str = Field(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        json_schema_extra=PROMPT_SCHEMA,
        description="What the new video shows.",
        examples=["The same beach at night under a full moon"],
    )


class VideoError(BaseModel):
    """Why a video failed."""

    code: str = Field(
        description="`cancelled`, `too_many_attempts` (the worker died on it every time), "
        "`invalid_request`, `engine_load_error`, or `failed` (the engine's error).",
        examples=["cancelled"],
    )
    message: str = Field(
        description="What went wrong, in words.", examples=["the video was cancelled"]
    )


class VideoUsage(BaseModel):
    """What one video used."""

    video_seconds: int = Field(
        description="Seconds of video delivered: the video's length once completed, else 0.",
        examples=[8],
    )
    compute_seconds: float = Field(
        description="Seconds workers spent generating it over all attempts (an attempt counts "
        "once it ends), 3 decimals.",
        examples=[41.275],
    )


class Video(BaseModel):
    """A video job, as OpenAI's `Video` object (ReelForge extensions are marked)."""

    id: str = Field(
        pattern=VIDEO_ID_PATTERN,
        description="The video's id.",
        examples=["video_3f2b9c4e8d7a41b6a5c0e9f1d2b3a4c5"],
    )
    object: Literal["video"] = Field(
        default="video", description="Always `video`.", examples=["video"]
    )
    model: str = Field(description="The model that makes it.", examples=["sora-2"])
    status: VideoStatus = Field(
        description="`queued`, `in_progress`, then `completed` or `failed` (a cancelled video "
        "is `failed` with `error.code` `cancelled`).",
        examples=["in_progress"],
    )
    progress: int = Field(
        ge=0, le=100, description="Percent done (100 once completed).", examples=[40]
    )
    created_at: int = Field(
        description="When it was created (unix seconds).", examples=[1764633600]
    )
    completed_at: int | None = Field(
        description="When it completed (unix seconds); null before.", examples=[1764633690]
    )
    expires_at: int | None = Field(
        description="When its files are deleted (unix seconds); null until it completes.",
        examples=[1764720090],
    )
    prompt: str | None = Field(
        description="The prompt it was made from.",
        examples=["Wide shot of a red kite over a windy beach at golden hour, waves rolling in"],
    )
    size: str = Field(description="Width x height.", examples=["1280x720"])
    seconds: str = Field(description="Length in seconds, as a string.", examples=["8"])
    remixed_from_video_id: str | None = Field(
        description="The video this one remixes; null for a new video.", examples=[None]
    )
    error: VideoError | None = Field(description="Why it failed; null unless `failed`.")
    # ReelForge extensions (additive: clients that do not know them ignore them).
    queue_position: int | None = Field(
        default=None,
        ge=0,
        description="ReelForge extension. While queued: how many videos start before this one "
        "(0 = next). Null otherwise.",
        examples=[2],
    )
    estimated_start_at: int | None = Field(
        default=None,
        description="ReelForge extension. While queued: when it should start (unix seconds), "
        "from the measured speed of recent videos of this model. Null when running, finished, "
        "or nothing has been measured yet.",
        examples=[1764633630],
    )
    estimated_completion_at: int | None = Field(
        default=None,
        description="ReelForge extension. While queued or in progress: when it should complete "
        "(unix seconds), from measured speed and its own progress. Null when finished or "
        "nothing has been measured yet.",
        examples=[1764633690],
    )
    phase: JobPhase | None = Field(
        default=None,
        description="ReelForge extension. `queued`; while in progress `loading` (before the "
        "model's first step), `denoising` (the model's steps) or `encoding` (the MP4 and "
        "previews). Null when finished.",
        examples=["denoising"],
    )
    usage: VideoUsage | None = Field(
        default=None,
        description="ReelForge extension. What the video used: the seconds delivered and the "
        "compute spent; the same numbers `GET /v1/usage` sums.",
    )


class VideoList(BaseModel):
    """One page of videos."""

    object: Literal["list"] = Field(default="list", description="Always `list`.", examples=["list"])
    data: list[Video] = Field(description="The videos of this page.")
    first_id: str | None = Field(
        description="The first video's id; null on an empty page.",
        examples=["video_3f2b9c4e8d7a41b6a5c0e9f1d2b3a4c5"],
    )
    last_id: str | None = Field(
        description="The last video's id: pass it as `after` for the next page.",
        examples=["video_9a8b7c6d5e4f40312a1b2c3d4e5f6a7b"],
    )
    has_more: bool = Field(description="Whether a next page exists.", examples=[False])


class VideoDeleted(BaseModel):
    """The answer to a delete."""

    id: str = Field(
        description="The deleted video's id.", examples=["video_3f2b9c4e8d7a41b6a5c0e9f1d2b3a4c5"]
    )
    object: Literal["video.deleted"] = Field(
        default="video.deleted", description="Always `video.deleted`.", examples=["video.deleted"]
    )
    deleted: Literal[True] = Field(default=True, description="Always true.", examples=[True])


class OpenAIErrorBody(BaseModel):
    """What went wrong, as OpenAI words errors."""

    message: str = Field(
        description="What was wrong and how to fix it.",
        examples=["seconds: '5' is not one of '4', '8', '12'"],
    )
    type: str = Field(
        description="`invalid_request_error`, `authentication_error`, `rate_limit_error`, ...",
        examples=["invalid_request_error"],
    )
    param: str | None = Field(
        description="The parameter at fault, when one is.", examples=["seconds"]
    )
    code: str | None = Field(
        description="A stable code to branch on, e.g. `moderation_blocked`, "
        "`video_not_ready`, `rate_limit_exceeded`.",
        examples=["invalid_value"],
    )


class OpenAIError(BaseModel):
    """The error body of every `/v1` answer that is not a success."""

    error: OpenAIErrorBody = Field(description="The error.")
