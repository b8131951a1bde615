"""The validated generation spec: what an engine is asked to make, independent of wire format."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from reelforge.domain.errors import SpecError
from reelforge.domain.limits import (
    ALLOWED_SECONDS,
    ALLOWED_SIZES,
    FPS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MODEL_NAMES,
)


def parse_size(size: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; only the contract's sizes are accepted."""
    if size not in ALLOWED_SIZES:
        allowed = ", ".join(ALLOWED_SIZES)
        raise SpecError(f"size {size!r} is not supported; use one of {allowed}", field="size")
    width, height = size.split("x")
    return int(width), int(height)


@dataclass(frozen=True, slots=True)
class GenerationSpec:
    """A request that passed validation. ``first_frame_key`` names a stored, re-encoded PNG."""

    prompt: str
    model: str
    width: int
    height: int
    seconds: int
    seed: int
    first_frame_key: str | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def frame_count(self) -> int:
        """Frames in the delivered video: exactly ``seconds`` at 24 fps."""
        return self.seconds * FPS

    @classmethod
    def build(
        cls,
        prompt: str,
        model: str = "sora-2",
        size: str = "1280x720",
        seconds: int | str = 8,
        seed: int | None = None,
        first_frame_key: str | None = None,
    ) -> GenerationSpec:
        """Validate raw values into a spec; each error names the field and the legal values."""
        if not prompt or not prompt.strip():
            raise SpecError("prompt is empty; describe the video you want", field="prompt")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise SpecError(
                f"prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}",
                field="prompt",
            )
        if model not in MODEL_NAMES:
            raise SpecError(
                f"model {model!r} is not supported; use one of {', '.join(MODEL_NAMES)}",
                field="model",
            )
        width, height = parse_size(size)
        seconds_int = _parse_seconds(seconds)
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        if not 0 <= seed <= MAX_SEED:
            raise SpecError(f"seed {seed} is out of range; use 0..{MAX_SEED}", field="seed")
        return cls(prompt, model, width, height, seconds_int, seed, first_frame_key)


def _parse_seconds(seconds: int | str) -> int:
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        value = -1
    if value not in ALLOWED_SECONDS or str(value) != str(seconds).strip():
        allowed = ", ".join(str(s) for s in ALLOWED_SECONDS)
        raise SpecError(f"seconds {seconds!r} is not supported; use one of {allowed}", "seconds")
    return value
