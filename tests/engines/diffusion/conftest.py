"""Tiny offline checkpoints of the real pipeline classes, built once per test session.

Each checkpoint is built in code, saved with ``save_pretrained`` and loaded back through
``create_engine(settings).load()`` - the same path a real model directory takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelforge.core.config import Settings
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, Frame, VideoClip
from reelforge.engines.diffusers_engine import DiffusersEngine, create_engine

PRESET_FAMILY = {"ltx2": "ltx2", "wan22-5b": "wan"}
EngineFactory = Callable[..., DiffusersEngine]


@dataclass
class RecordingControl:
    """Records progress; raises ``stop_with`` at the ``stop_at``-th denoising report."""

    stop_at: int | None = None
    stop_with: BaseException | None = None
    progress: list[tuple[float, str]] = field(default_factory=list)

    def step(self, done: float, total: float, stage: str = "") -> None:
        self.progress.append((done / total, stage))
        denoising = [entry for entry in self.progress if entry[1].startswith("denoise")]
        stopping = self.stop_with is not None and stage.startswith("denoise")
        if stopping and len(denoising) == self.stop_at and self.stop_with is not None:
            raise self.stop_with

    def log(self, message: str) -> None:
        pass


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.engines.diffusion.gpu_extra import require_gpu_extra

    require_gpu_extra()
    from reelforge.engines.diffusion.tiny import save_tiny_pipeline

    root = tmp_path_factory.mktemp("tiny-checkpoints")
    return {
        preset: save_tiny_pipeline(family, root / family)
        for preset, family in PRESET_FAMILY.items()
    }


def tiny_options(preset: str, directory: Path, **overrides: Any) -> dict[str, Any]:
    """Options for fast CPU runs: 32x32 generation, 2 steps, every 8th frame generated."""
    options: dict[str, Any] = {
        "preset": preset,
        "models": {},
        "model_paths": {preset: str(directory)},
        "device": "cpu",
        "gen_width": 32,
        "gen_height": 32,
        "frame_stride": 8,
        "steps": {preset: 2},
        "two_stage": False,
    }
    return options | overrides


@pytest.fixture(scope="session")
def make_engine(tiny_checkpoints: dict[str, Path]) -> EngineFactory:
    """Loaded engines, cached per (preset, options) for the whole session."""
    cache: dict[str, DiffusersEngine] = {}

    def build(preset: str, **overrides: Any) -> DiffusersEngine:
        key = f"{preset}:{sorted(overrides.items())}"
        if key not in cache:
            options = tiny_options(preset, tiny_checkpoints[preset], **overrides)
            engine = create_engine(Settings(engine="diffusers", engine_options=options))
            engine.load()
            cache[key] = engine
        return cache[key]

    return build


def spec(seed: int = 5, size: str = "1280x720", seconds: int = 4) -> GenerationSpec:
    return GenerationSpec.build("a cat walks on the beach", size=size, seconds=seconds, seed=seed)


def noise_image(seed: int, width: int = 1280, height: int = 720) -> Frame:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def generate(
    engine: DiffusersEngine,
    request_spec: GenerationSpec,
    image: Frame | None = None,
    control: RecordingControl | None = None,
) -> tuple[VideoClip, list[Frame]]:
    clip = engine.generate(EngineRequest(request_spec, image), control or RecordingControl())
    return clip, list(clip.frames)
