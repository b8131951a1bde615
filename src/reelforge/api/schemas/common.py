"""Patterns shared by both surfaces' schemas (the limits themselves are in the domain)."""

from __future__ import annotations

from typing import Final

IMAGE_SOURCE_PATTERN: Final = r"^(https?://|data:)"
