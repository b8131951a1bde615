"""The diffusers engine's options, parsed from ``Settings.engine_options``.

Example (TOML config file)::

    engine = "diffusers"
    [engine_options]
    preset = "ltx2"
    model_paths = { ltx2 = "/models/LTX-2.3-Distilled-Diffusers" }
    models = { "sora-2" = "ltx2", "sora-2-pro" = "ltx2" }   # ltx2-full too: an H200 (models plan)
    dtype = "bfloat16"
    vae_tiling = true
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reelforge.domain.errors import ConfigError
from reelforge.domain.limits import FPS
from reelforge.engines.diffusion.presets import (
    DEFAULT_MODEL_PRESETS,
    DEFAULT_PRESET,
    PRESETS,
    Preset,
    preset_names,
)
from reelforge.engines.diffusion.sizes import parse_size

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class DiffusersOptions(BaseModel):
    """Every knob of the diffusers engine; unknown keys are rejected so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str = Field(default=DEFAULT_PRESET, description="Preset for unmapped model names.")
    models: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_PRESETS),
        description="Requested model name (sora-2, sora-2-pro, ...) -> preset.",
    )
    model_paths: dict[str, str] = Field(
        default_factory=dict, description="Preset -> local directory or hub id of its checkpoint."
    )
    upsampler_paths: dict[str, str] = Field(
        default_factory=dict,
        description="Preset -> LTX-2 latent upsampler folder; default <model>/latent_upsampler.",
    )
    stage2_lora_paths: dict[str, str] = Field(
        default_factory=dict,
        description="Preset -> .safetensors file of its stage-2 LoRA (ltx2-full: the distilled "
        "LoRA); default <model>/<file name>, then the Hugging Face cache.",
    )
    two_stage: bool = Field(
        default=True,
        description="LTX-2: half-size stage, upsample, refine (needs the upsampler, and for "
        "ltx2-full the distilled LoRA; false is the explicit, logged choice of one full-size "
        "stage).",
    )
    memory_budget: str | None = Field(
        default=None,
        description="Device memory the plan may use (e.g. 80GiB); default: the GPU's free memory.",
    )
    share_components: bool = Field(
        default=True,
        description="Presets of one family share modules with identical weights (text encoder, "
        "VAEs, vocoder, upsampler).",
    )
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        default="auto", description="auto: bfloat16 on GPUs, float32 on CPU."
    )
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:N or mps.")
    cpu_offload: Literal["none", "model", "sequential"] = Field(
        default="none", description="Keep weights in host memory; trades speed for GPU memory."
    )
    vae_tiling: bool = Field(default=True, description="Decode in tiles to avoid decode OOM.")
    steps: dict[str, int] = Field(
        default_factory=dict, description="Preset -> denoising steps (stage 1 for two-stage)."
    )
    attention_backend: str | None = Field(
        default=None, description="diffusers attention backend, e.g. _native_cudnn, flash."
    )
    compile: bool = Field(default=False, description="torch.compile the repeated blocks.")
    compile_warmup: bool = Field(
        default=True,
        description="With compile: run one 1-step job per duration and mode at load.",
    )
    fp8: bool = Field(
        default=False, description="FP8 transformer weights and activations (torchao, GPU)."
    )
    frames_on_device: bool = Field(
        default=True,
        description="Convert frames to uint8 and crop them on the device before the host copy.",
    )
    reuse_prompt_embeds: bool = Field(
        default=True, description="Two-stage LTX-2: encode the prompt once for both stages."
    )
    allow_download: bool = Field(
        default=False,
        description="Let load() download hub ids; otherwise use `reelforge models pull` first.",
    )
    gen_width: int | None = Field(
        default=None, gt=0, description="Generation width (landscape; portrait is mirrored)."
    )
    gen_height: int | None = Field(default=None, gt=0, description="Generation height.")
    frame_stride: int = Field(
        default=1, ge=1, description="Generate every Nth frame and repeat it (tests, previews)."
    )
    first_frame: Literal["input", "model"] = Field(
        default="input",
        description="I2V: deliver the input image itself as frame 0, or the model's decode of it.",
    )

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not _DEVICE_PATTERN.match(value):
            raise ValueError(f"device {value!r} is not one of auto, cpu, cuda, cuda:N, mps")
        return value

    @field_validator("attention_backend")
    @classmethod
    def _offline_backend(cls, value: str | None) -> str | None:
        if value is not None and value.endswith("_hub"):
            raise ValueError(
                f"attention backend {value!r} downloads kernels at run time; "
                "use an installed one such as _native_cudnn or flash"
            )
        return value

    @field_validator("memory_budget")
    @classmethod
    def _memory_size(cls, value: str | None) -> str | None:
        if value is not None:
            parse_size(value)  # ValueError names the expected form
        return value

    @field_validator("frame_stride")
    @classmethod
    def _stride_divides_fps(cls, value: int) -> int:
        if FPS % value:
            raise ValueError(f"frame_stride {value} must divide {FPS} (1, 2, 3, 4, 6, 8, 12, 24)")
        return value

    @model_validator(mode="after")
    def _known_presets(self) -> DiffusersOptions:
        named = {"preset": [self.preset], "models": list(self.models.values())}
        named |= {
            key: list(getattr(self, key)) for key in ("model_paths", "steps", "stage2_lora_paths")
        }
        for where, names in named.items():
            for name in names:
                if name not in PRESETS:
                    known = ", ".join(preset_names())
                    raise ValueError(f"{where}: unknown preset {name!r}; use one of {known}")
        if any(steps < 1 for steps in self.steps.values()):
            raise ValueError("steps: every value must be at least 1")
        if (self.gen_width is None) != (self.gen_height is None):
            raise ValueError("gen_width and gen_height must be set together")
        return self

    def preset_for_model(self, model: str) -> Preset:
        """The preset that serves a request for ``model`` (unmapped names use ``preset``)."""
        return PRESETS[self.models.get(model, self.preset)]

    def presets_in_use(self) -> list[Preset]:
        """The default preset first, then every preset a model name maps to."""
        names = dict.fromkeys([self.preset, *self.models.values()])
        return [PRESETS[name] for name in names]

    def source_for(self, preset: Preset) -> str:
        """Local directory or hub id holding ``preset``'s checkpoint."""
        return self.model_paths.get(preset.name, preset.hub_id)

    def steps_for(self, preset: Preset) -> int:
        return self.steps.get(preset.name, preset.steps)


def parse_options(raw: Mapping[str, Any]) -> DiffusersOptions:
    """Validate ``engine_options``; any problem becomes one ``ConfigError`` line."""
    try:
        return DiffusersOptions.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        prefix = f"engine_options.{where}" if where else "engine_options"
        raise ConfigError(f"invalid diffusers option {prefix}: {message}") from None
