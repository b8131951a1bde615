"""Patterns shared by both surfaces' schemas (the limits themselves are in the domain)."""

from __future__ import annotations

from typing import Final, Literal

IMAGE_SOURCE_PATTERN: Final = r"^(https?://|data:)"

JobPhase = Literal["queued", "loading", "denoising", "encoding"]
"""What a job is doing (a ReelForge extension on both surfaces): waiting, then loading, the
model's denoising steps, then encoding the MP4 and its previews."""
