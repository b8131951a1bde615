"""What the engine tells users about clips beyond a model's trained length.

Wan2.2-TI2V-5B was trained on clips of up to 121 frames (5 s at 24 fps); 8 s and 12 s jobs run
193 and 289 frames. We serve them with a stated caveat rather than refusing them:

- the architecture handles them (73 latent frames at 12 s, far below the transformer's 1024
  rotary positions per axis); what degrades is quality (motion may drift, slow or loop), not
  correctness;
- a refusal would have to happen at admission to be a clean 400, but the API servers of a fleet
  do not know which preset a worker maps a model name to (engine options live on the workers),
  so they could only guess, refusing good jobs or queueing bad ones;
- clients of the Sora APIs ask for 8 and 12 s; an operator who wants Wan only for short clips
  maps the long-clip model names to ``ltx2`` instead (``engine_options.models``).

The caveat goes into the job's log and the MP4's ``quality_caveat`` tag.
"""

from __future__ import annotations

from typing import Final

from reelforge.engines.diffusion.geometry import GenerationPlan
from reelforge.engines.diffusion.presets import Preset

WAN_TRAINED_FRAMES: Final = 121


def quality_caveat(preset: Preset, plan: GenerationPlan) -> str | None:
    """A one-line warning when ``plan`` runs ``preset`` beyond what it was trained on."""
    frames = plan.target_frames + 1  # the model's frame count at stride 1 (k * ratio + 1)
    if preset.family != "wan" or frames <= WAN_TRAINED_FRAMES:
        return None
    return (
        f"{preset.name} was trained on clips of up to {WAN_TRAINED_FRAMES} frames (5 s); this "
        f"{plan.seconds} s clip needs {frames}, so motion may drift or loop; map this model "
        "name to ltx2 (engine_options.models) for long clips"
    )
