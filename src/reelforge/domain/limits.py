"""Limits and accepted values of a generation request: the one place each is written.

The wire schemas, the image decoder, the URL fetcher and admission all read these, so a
limit changed here changes on every surface and in every error message at once.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

ModelName = Literal[
    "sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06", "sora-2-2025-12-08"
]
MODEL_NAMES: Final[tuple[str, ...]] = get_args(ModelName)
"""The model names both APIs accept (OpenAI's names, with their dated snapshots)."""

ALLOWED_SIZES: Final = ("1280x720", "720x1280")
ALLOWED_SECONDS: Final = (4, 8, 12)
FPS: Final = 24
MAX_PROMPT_CHARS: Final = 32000
MAX_SEED: Final = 2**32 - 1

MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
"""A first-frame image, however it arrives (upload, data URL, http(s) URL)."""
MAX_IMAGE_FIELD_CHARS: Final = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 64
"""A data URL of the largest image: base64 grows it by 4/3, plus the ``data:...;base64,``."""
MAX_URL_CHARS: Final = 8192
IMAGE_TYPES: Final = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
"""Accepted first-frame types: the media subtype (``image/<key>``) -> the format's name."""


def describe_size(size: int) -> str:
    """``10485760`` -> ``"10 MB"``, ``1536`` -> ``"1.5 KB"``, ``100`` -> ``"100 bytes"``."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
