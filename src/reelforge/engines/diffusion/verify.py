"""Prove a checkpoint works: load it through the engine's own path and run one tiny job.

Shared by ``reelforge models verify`` and the tests. The run is as small as the architecture
allows (64x64, one denoising step, one generated frame per second) but goes through exactly
what a real job does, then checks the contract on the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, VideoClip
from reelforge.engines.diffusion.options import DiffusersOptions
from reelforge.engines.diffusion.presets import PRESETS, Preset

VERIFY_SIZE = 64
VERIFY_SECONDS = 4
FAMILY_PRESET = {"ltx2": "ltx2", "wan": "wan22-5b"}


@dataclass
class RecordingControl:
    """A JobControl that remembers progress and never stops the job."""

    progress: list[tuple[float, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def step(self, done: float, total: float, stage: str = "") -> None:
        self.progress.append((done / total, stage))

    def log(self, message: str) -> None:
        self.lines.append(message)


def verify_options(
    preset: Preset, base: DiffusersOptions, directory: Path | None
) -> DiffusersOptions:
    """``base`` (device, dtype, memory options) narrowed to one preset at the smallest size."""
    overrides: dict[str, Any] = {
        "preset": preset.name,
        "models": {},
        "steps": {preset.name: 1},
        "gen_width": VERIFY_SIZE,
        "gen_height": VERIFY_SIZE,
        "frame_stride": 24,
        "compile": False,
    }
    if directory is not None:
        overrides["model_paths"] = {**base.model_paths, preset.name: str(directory)}
    return base.model_copy(update=overrides)


def preset_for_directory(directory: Path) -> Preset:
    from reelforge.engines.diffusion.loading import family_of_checkpoint

    return PRESETS[FAMILY_PRESET[family_of_checkpoint(directory)]]


def verify_checkpoint(options: DiffusersOptions, report: Callable[[str], None]) -> None:
    """Load, generate text- and image-to-video, check the contract; raise on the first failure."""
    from reelforge.engines.diffusers_engine import DiffusersEngine

    engine = DiffusersEngine(options)
    engine.load()
    facts = engine.describe()
    report(f"loaded {facts['model']} on {facts['device']} ({facts['dtype']})")
    spec = GenerationSpec.build("a cat walks on the beach", seconds=VERIFY_SECONDS, seed=1)
    image = np.full((spec.height, spec.width, 3), 128, dtype=np.uint8)
    for label, first_frame in (("text-to-video", None), ("image-to-video", image)):
        control = RecordingControl()
        clip = engine.generate(EngineRequest(spec, first_frame), control)
        check_clip(clip, spec)
        if not control.progress or control.progress[-1][0] != 1.0:
            raise AssertionError(f"{label}: progress did not reach 100 %")
        report(f"{label}: {clip.frame_count} frames at {spec.size}, audio {clip.metadata['audio']}")


def check_clip(clip: VideoClip, spec: GenerationSpec) -> None:
    """The contract: exact frame count and size, audio exactly as long as the video."""
    frames = list(clip.frames)
    if len(frames) != spec.frame_count or clip.frame_count != spec.frame_count:
        raise AssertionError(f"{len(frames)} frames delivered; the spec needs {spec.frame_count}")
    wrong = [frame.shape for frame in frames if frame.shape != (spec.height, spec.width, 3)]
    if wrong:
        raise AssertionError(f"frame shape {wrong[0]}; the spec needs {spec.height}x{spec.width}")
    if clip.audio.shape != (2, spec.seconds * clip.sample_rate):
        raise AssertionError(f"audio shape {clip.audio.shape} does not last {spec.seconds} s")
