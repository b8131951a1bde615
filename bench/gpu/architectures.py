"""Random-weight pipelines of the released architectures, built in code on a device.

Speed and memory do not depend on weight values, so a pipeline of the real architecture built
directly on the GPU in bfloat16 times (and fills memory) like the released model, with no
download. Every shape comes from ``reelforge/engines/diffusion/configs/published.json``: the
released checkpoints' ``config.json`` values for LTX-2.3 (transformer, connectors, video and
audio VAEs, the LTX2VocoderWithBWE vocoder, latent upsampler), Gemma-3-12B, Wan2.2-TI2V-5B and
UMT5-XXL; the same file the engine's memory plan reads, so the plan and the measurement describe
one architecture.

Components a checkpoint shares with another (published.json's ``weights`` names: the Gemma text
encoder, the VAEs and the vocoder of the two LTX-2.3 checkpoints) are built once and shared, as
the engine shares them. ``tiny=True`` builds the tiny offline pipelines of the same classes
instead (reelforge.engines.diffusion.tiny) and shares their modules by the same names, so the
CPU smoke run goes through the same assembly.

Tokenizers are the tiny offline ones: prompts are padded to the same ``max_sequence_length``,
so the text encoder's cost is unchanged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch

from reelforge.engines.diffusion.plan import PUBLISHED_CONFIGS
from reelforge.engines.diffusion.presets import PRESETS, Preset
from reelforge.engines.diffusion.tiny import (
    build_tiny_pipeline,
    import_any,
    tiny_gemma_tokenizer,
    tiny_t5_tokenizer,
)

TINY_UPSAMPLER: dict[str, Any] = {
    "in_channels": 4,
    "mid_channels": 32,
    "num_blocks_per_stage": 1,
    "dims": 3,
    "spatial_upsample": True,
    "temporal_upsample": False,
}
_FAMILY_PIPELINE = {"ltx2": "LTX2Pipeline", "wan": "WanPipeline"}


@cache
def published() -> dict[str, Any]:
    """The released architectures and which checkpoint holds which (published.json)."""
    data: dict[str, Any] = json.loads(PUBLISHED_CONFIGS.read_text(encoding="utf-8"))
    return data


def checkpoint_components(hub_id: str) -> dict[str, dict[str, str]]:
    """Component name -> {"architecture", "weights"} for a released checkpoint."""
    checkpoints: dict[str, dict[str, dict[str, str]]] = published()["checkpoints"]
    if hub_id not in checkpoints:
        raise KeyError(f"{hub_id} is not in published.json; known: {', '.join(checkpoints)}")
    return checkpoints[hub_id]


@contextlib.contextmanager
def building_on(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Allocate parameters directly on ``device`` in ``dtype`` (no fp32 copy on the host)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            yield
    finally:
        torch.set_default_dtype(previous)


def build_architecture(name: str) -> Any:
    """One module of a published architecture, on the current default device and dtype."""
    entry = published()["architectures"][name]
    config = dict(entry["config"])
    if entry["library"] == "transformers":
        transformers = import_any("transformers")
        model_class = getattr(transformers, entry["class"])
        config.pop("model_type", None)
        return model_class(model_class.config_class(**config)).eval()
    model_class = _diffusers_class(entry["class"])
    return model_class.from_config(config)


def _diffusers_class(name: str) -> Any:
    for module in ("diffusers", "diffusers.pipelines.ltx2"):
        found = getattr(import_any(module), name, None)
        if found is not None:
            return found
    raise AttributeError(f"diffusers has no {name}; install diffusers >= 0.42")


def _bench_upsamples(preset: Preset) -> bool:
    """Only the distilled recipe runs two stages here: ltx2-full's also needs its stage-2 LoRA,
    which these random-weight builds do not make, so the bench runs it in one stage."""
    return preset.distilled and preset.upsampler_hub_id is not None


@dataclass
class Builder:
    """Builds checkpoints' pipelines, sharing modules whose published ``weights`` match."""

    device: torch.device
    dtype: torch.dtype
    tiny: bool = False
    shared: dict[str, Any] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)
    """Weights names built (each once), in order: what the device holds."""

    def pipeline(self, preset: Preset) -> tuple[Any, Any]:
        """(text-to-video pipeline, latent upsampler pipeline or None) for ``preset``."""
        tiny_modules = self._tiny_modules(preset)
        pipeline = self._assemble(preset, self._modules(preset.hub_id, tiny_modules))
        upsampler = None
        if _bench_upsamples(preset):
            upsampler = self._upsampler(preset.upsampler_hub_id, pipeline, tiny_modules)
        return pipeline, upsampler

    def _modules(self, hub_id: str, tiny_modules: dict[str, Any]) -> dict[str, Any]:
        modules = {}
        for name, component in checkpoint_components(hub_id).items():
            weights = component["weights"]
            if weights not in self.shared:
                self.shared[weights] = self._build(component["architecture"], name, tiny_modules)
                self.built.append(weights)
            modules[name] = self.shared[weights]
        return modules

    def _build(self, architecture: str, name: str, tiny_modules: dict[str, Any]) -> Any:
        if self.tiny:
            return tiny_modules[name].to(self.device)
        with building_on(self.device, self.dtype):
            return build_architecture(architecture)

    def _tiny_modules(self, preset: Preset) -> dict[str, Any]:
        if not self.tiny:
            return {}
        pipeline = build_tiny_pipeline(preset.family)
        modules = dict(pipeline.components)
        if _bench_upsamples(preset):
            ltx2 = import_any("diffusers.pipelines.ltx2")
            modules["latent_upsampler"] = ltx2.LTX2LatentUpsamplerModel(**TINY_UPSAMPLER)
        return modules

    def _assemble(self, preset: Preset, modules: dict[str, Any]) -> Any:
        diffusers = import_any("diffusers")
        pipeline_class = getattr(diffusers, _FAMILY_PIPELINE[preset.family])
        # Schedulers keep float32 sigmas on the host: built outside any device context.
        if preset.family == "ltx2":
            extra = {
                "scheduler": diffusers.FlowMatchEulerDiscreteScheduler(),
                "tokenizer": tiny_gemma_tokenizer(),
            }
        else:
            extra = {
                "scheduler": diffusers.UniPCMultistepScheduler(
                    prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
                ),
                "tokenizer": tiny_t5_tokenizer(),
                "expand_timesteps": True,
            }
        return pipeline_class(**modules, **extra)

    def _upsampler(self, hub_id: str, pipeline: Any, tiny_modules: dict[str, Any]) -> Any:
        ltx2 = import_any("diffusers.pipelines.ltx2")
        (model,) = self._modules(hub_id, tiny_modules).values()
        return ltx2.LTX2LatentUpsamplePipeline(vae=pipeline.vae, latent_upsampler=model)


def build_pipeline(preset: str, device: torch.device, dtype: torch.dtype, tiny: bool) -> Any:
    """(text-to-video pipeline, upsampler pipeline or None): a fresh, unshared build."""
    return Builder(device, dtype, tiny).pipeline(PRESETS[preset])


def parameter_counts(pipeline: Any, upsampler: Any) -> dict[str, int]:
    """Parameters per module (works on the meta device: no memory is touched)."""
    modules = dict(pipeline.components)
    if upsampler is not None:
        modules["latent_upsampler"] = upsampler.latent_upsampler
    return {
        name: sum(parameter.numel() for parameter in module.parameters())
        for name, module in modules.items()
        if isinstance(module, torch.nn.Module)
    }
