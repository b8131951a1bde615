"""Limits shared by both surfaces' schemas."""

from __future__ import annotations

from typing import Final

MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
# A data URL of a 10 MB image: base64 grows it by 4/3, plus the "data:image/webp;base64," prefix.
MAX_IMAGE_FIELD_CHARS: Final = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 64
MAX_URL_CHARS: Final = 8192
IMAGE_SOURCE_PATTERN: Final = r"^(https?://|data:)"
