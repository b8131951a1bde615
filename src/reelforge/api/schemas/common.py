"""Patterns shared by both surfaces' schemas (the limits themselves are in the domain)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field

IMAGE_SOURCE_PATTERN: Final = r"^(https?://|data:)"

JobPhase = Literal["queued", "loading", "denoising", "encoding"]
"""What a job is doing (a ReelForge extension on both surfaces): waiting, then loading, the
model's denoising steps, then encoding the MP4 and its previews."""

WebhookUrl = Annotated[
    str | None,
    Field(
        max_length=2048,
        description="ReelForge extension: an http(s) URL (public, or in a network the operator "
        "allows) that also receives this video's terminal events (video.completed, "
        "video.failed, video.cancelled) as Standard Webhooks, signed with your key's secret "
        "(GET /v1/webhook_secret).",
    ),
]
"""A create's own webhook URL, the same on every create body."""
