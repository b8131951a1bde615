"""Named model recipes: which checkpoint, which pipeline family, how many steps, which guidance.

A preset is data, not code: the runners read it. ``ltx2`` (LTX-2.3 distilled) and ``ltx2-full``
(LTX-2.3 dev) are two different checkpoints of one family: they share the Gemma text encoder,
the VAEs, the vocoder and the latent upsampler (the engine loads those once), but each has its
own 19 B transformer and 3 B text connectors. The default mapping serves both API model names
with ``ltx2`` so that it fits one 80 GB GPU (``reelforge models plan`` shows the numbers); map
``sora-2-pro`` to ``ltx2-full`` where the plan says both fit (an H200).

Both LTX-2 presets run Lightricks' two-stage recipe: stage 1 at half size, the shared 2x latent
upsampler, then 3 refining steps at full size on the distilled sigmas. ``ltx2-full`` guides its
stage 1 (CFG + STG, 30 steps) and refines with Lightricks' distilled LoRA on its own
transformer, enabled for stage 2 only; ``two_stage = false`` runs either in one full-size stage.

Hub revisions: ``revision`` pins what ``models pull`` and ``allow_download`` fetch. The presets
pin ``main`` because no immutable commit of these repos could be checked offline; an operator
who needs a frozen download pulls once and serves it from ``model_paths`` (a local folder), or
edits ``revision`` to a commit hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Family = Literal["ltx2", "wan"]


@dataclass(frozen=True, slots=True)
class HubFile:
    """One file of a hub repository, at a pinned revision."""

    repo_id: str
    filename: str
    revision: str = "main"


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
    revision: str = "main"
    """The hub revision (branch, tag or commit) of ``hub_id`` that is downloaded."""
    upsampler_revision: str = "main"
    """The hub revision of ``upsampler_hub_id`` (a personal staging repo: pin a commit)."""
    size_multiple: int = 32
    """Height and width must be multiples of this (the pipeline's own check)."""
    license: str = ""
    stage2_lora: HubFile | None = None
    """A LoRA enabled only for stage 2 of the two-stage recipe (the full model's refiner)."""

    @property
    def two_stage_recipe(self) -> bool:
        """Half-size stage, latent upsample, short full-size stage (``two_stage`` can opt out)."""
        return self.distilled or self.stage2_lora is not None


# The LTX-2.3 2x spatial latent upsampler, converted by diffusers' maintainers (LTX-2.3 only
# ships it in Lightricks' own format).
LTX2_UPSAMPLER_HUB_ID: Final = "dg845/LTX-2.3-Spatial-Upsampler-Diffusers"
# Stage 2 of the distilled recipe always runs the 3 fixed sigmas (diffusers' ltx2.utils).
STAGE_2_STEPS: Final = 3
# The full model's stage 2 refines with the distilled model's behaviour, added as a LoRA
# (Lightricks' own format; diffusers converts it on load). Rank 384 over the transformer.
LTX2_DISTILLED_LORA: Final = HubFile(
    "Lightricks/LTX-2.3", "ltx-2.3-22b-distilled-lora-384.safetensors"
)
LTX2_DISTILLED_LORA_RANK: Final = 384

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
            upsampler_hub_id=LTX2_UPSAMPLER_HUB_ID,
            license="LTX-2 Community License",
        ),
        Preset(
            name="ltx2-full",
            family="ltx2",
            hub_id="diffusers/LTX-2.3-Diffusers",
            description="LTX-2.3 full model: 30 guided steps at half size, 2x upsample, "
            "3 steps with the distilled LoRA; audio",
            steps=30,
            guidance_scale=3.0,
            has_audio=True,
            upsampler_hub_id=LTX2_UPSAMPLER_HUB_ID,
            stage2_lora=LTX2_DISTILLED_LORA,
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
# Both names on one checkpoint: ltx2 alone is ~36 B parameters (~67 GiB in bf16) and fits one
# 80 GB GPU with a 12 s job; adding ltx2-full's transformer and connectors (+22 B) does not.
DEFAULT_MODEL_PRESETS: Final[dict[str, str]] = {"sora-2": "ltx2", "sora-2-pro": "ltx2"}


def preset_names() -> list[str]:
    return sorted(PRESETS)
