"""Patterns shared by both surfaces' schemas (the limits themselves are in the domain)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field
from pydantic.config import JsonDict

from reelforge.notify.urls import MAX_WEBHOOK_URL_CHARS, WEBHOOK_URL_PATTERN

IMAGE_SOURCE_PATTERN: Final = r"^(https?://|data:)"

PROMPT_PATTERN: Final = "[^\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A prompt holds a character that is not white space (the domain refuses a blank prompt).
The class lists the characters ``str.isspace`` calls white space, which the domain strips,
so every regular-expression dialect reads it alike (``\\s`` differs between them)."""
PROMPT_SCHEMA: Final[JsonDict] = {"pattern": PROMPT_PATTERN}
"""Only declared in the schema (``json_schema_extra``): the domain's own check says what is
wrong better than a regular expression would."""

JobPhase = Literal["queued", "loading", "denoising", "encoding"]
"""What a job is doing (a ReelForge extension on both surfaces): waiting, then loading, the
model's denoising steps, then encoding the MP4 and its previews."""

WebhookUrlText = Annotated[
    str, Field(max_length=MAX_WEBHOOK_URL_CHARS, json_schema_extra={"pattern": WEBHOOK_URL_PATTERN})
]
"""A webhook URL: its form declared in the schema, checked (with clearer errors, and the
addresses behind its host) by ``reelforge.notify.urls``."""
WebhookUrl = Annotated[
    WebhookUrlText | None,
    Field(
        description="ReelForge extension: an http(s) URL (public, or in a network the operator "
        "allows) that also receives this video's terminal events (video.completed, "
        "video.failed, video.cancelled) as Standard Webhooks, signed with your key's secret "
        "(GET /v1/webhook_secret).",
        examples=["https://hooks.example.com/reelforge"],
    ),
]
"""A create's own webhook URL, the same on every create body."""
