"""Named model recipes: which checkpoint, which pipeline family, how many steps, which guidance.

A preset is data, not code: the runners read it. Two presets may share a checkpoint (``ltx2`` and
``ltx2-full`` differ only in the recipe), in which case the engine loads the weights once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Family = Literal["ltx2", "wan"]


@dataclass(frozen=True, slots=True)
class Preset:
    """One way of turning a spec into a clip with one open model."""

    name: str
    family: Family
    hub_id: str
    description: str
    steps: int
    guidance_scale: float
    has_audio: bool
    distilled: bool = False
    upsampler_hub_id: str | None = None
    """Where ``models pull`` finds the latent upsampler for the two-stage recipe."""
    size_multiple: int = 32
    """Height and width must be multiples of this (the pipeline's own check)."""
    license: str = ""


# Stage 2 of the distilled recipe always runs the 3 fixed sigmas (diffusers' ltx2.utils).
STAGE_2_STEPS: Final = 3

PRESETS: Final[dict[str, Preset]] = {
    preset.name: preset
    for preset in (
        Preset(
            name="ltx2",
            family="ltx2",
            hub_id="diffusers/LTX-2.3-Distilled-Diffusers",
            description="LTX-2.3 distilled: 8 + 3 steps, no CFG, synchronized stereo audio",
            steps=8,
            guidance_scale=1.0,
            has_audio=True,
            distilled=True,
            upsampler_hub_id="dg845/LTX-2.3-Spatial-Upsampler-Diffusers",
            license="LTX-2 Community License",
        ),
        Preset(
            name="ltx2-full",
            family="ltx2",
            hub_id="diffusers/LTX-2.3-Diffusers",
            description="LTX-2.3 full model: 30 steps, CFG + STG + modality guidance, audio",
            steps=30,
            guidance_scale=3.0,
            has_audio=True,
            license="LTX-2 Community License",
        ),
        Preset(
            name="wan22-5b",
            family="wan",
            hub_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
            description="Wan2.2-TI2V-5B: 50 steps with CFG, silent (the engine adds silence)",
            steps=50,
            guidance_scale=5.0,
            has_audio=False,
            license="Apache-2.0",
        ),
    )
}

DEFAULT_PRESET: Final = "ltx2"
DEFAULT_MODEL_PRESETS: Final[dict[str, str]] = {"sora-2": "ltx2", "sora-2-pro": "ltx2-full"}


def preset_names() -> list[str]:
    return sorted(PRESETS)
