"""The memory plan: what the configured presets will hold on the device, decided before any load.

Each checkpoint component (transformer, text encoder, VAEs, vocoder, latent upsampler) is built on
torch's ``meta`` device from its config - no weight is read - and its parameters and buffers are
counted in the dtype it will be loaded in. Configs come from the local checkpoint when there is
one, otherwise from the released configs shipped in ``configs/published.json`` (so the plan works
before any download). Components with the same weights are counted once: presets of one family
share the text encoder, VAEs, vocoder and upsampler, and the load shares them the same way.

On top of the weights comes an estimate of the largest job's working memory (12 s at 1280x720;
one job runs at a time, so the largest preset's counts) and a fixed margin. ``plan.fits`` compares
the total with the device's free memory (or ``engine_options.memory_budget``); the engine refuses
to load a plan that does not fit, with ``plan.refusal()``: one line of numbers and fixes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from reelforge.domain.errors import EngineLoadError
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.diffusion.geometry import plan_generation
from reelforge.engines.diffusion.options import DiffusersOptions
from reelforge.engines.diffusion.presets import Preset
from reelforge.engines.diffusion.sizes import GIB, gib, parse_size

if TYPE_CHECKING:
    import torch
    from torch import nn

PUBLISHED_CONFIGS: Final = Path(__file__).parent / "configs" / "published.json"
LARGEST_JOB: Final = GenerationSpec.build("memory plan", size="1280x720", seconds=12, seed=0)
"""The job that needs the most working memory: the longest clip at the contract's size."""
MARGIN_BYTES: Final = GIB
MARGIN_FRACTION: Final = 0.03
"""Beyond weights and activations: CUDA/cuBLAS workspaces (~1 GiB) and allocator slack (~3 %)."""
OFFLOAD_MODES: Final = ("none", "model", "sequential")
_SAMPLE_BYTES: Final = 1024 * 1024
_DTYPE_BYTES: Final = {"bfloat16": 2, "float16": 2, "float32": 4, "float8": 1}


@dataclass(frozen=True, slots=True)
class ComponentFootprint:
    """One module held on the device, counted once however many presets use it."""

    name: str
    class_name: str
    weights: str
    """What decides sharing: the published weights name, or a digest of the local files."""
    parameters: int
    bytes: int
    dtype: str
    source: str
    """``local`` (config read from the checkpoint on disk) or ``published`` (shipped config)."""
    presets: tuple[str, ...]
    largest_leaf_bytes: int = 0
    loaded_bytes: int = 0
    """Bytes as read, before load-time levers (fp8 quantizes an already loaded module)."""


@dataclass(frozen=True, slots=True)
class PresetFootprint:
    preset: str
    components: tuple[str, ...]
    """Weights names of the components this preset runs with."""
    activation_bytes: int
    tokens: int
    """Video tokens per transformer pass at the largest job's full-resolution stage."""


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """What the configured presets need on the device, and whether the device has it."""

    components: tuple[ComponentFootprint, ...]
    presets: tuple[PresetFootprint, ...]
    cpu_offload: str
    device: str
    available_bytes: int | None
    """Free device memory (or the configured budget); None when unknown (CPU, no GPU here)."""
    shared: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def weights_bytes(self) -> int:
        """Weights resident on the device at the peak (all of them without offload)."""
        if self.cpu_offload == "model":
            return max((component.bytes for component in self.components), default=0)
        if self.cpu_offload == "sequential":
            return max((c.largest_leaf_bytes for c in self.components), default=0)
        return sum(component.bytes for component in self.components)

    @property
    def activation_bytes(self) -> int:
        """One job runs at a time (the run lock), so the largest preset's working memory."""
        return max((preset.activation_bytes for preset in self.presets), default=0)

    @property
    def margin_bytes(self) -> int:
        return MARGIN_BYTES + int(MARGIN_FRACTION * (self.weights_bytes + self.activation_bytes))

    @property
    def load_bytes(self) -> int:
        """The load's own peak: weights as read, before fp8 shrinks the transformer."""
        if self.cpu_offload != "none":
            return self.weights_bytes
        return sum(max(c.loaded_bytes, c.bytes) for c in self.components)

    @property
    def total_bytes(self) -> int:
        running = self.weights_bytes + self.activation_bytes
        return max(running, self.load_bytes) + self.margin_bytes

    @property
    def parameters(self) -> int:
        return sum(component.parameters for component in self.components)

    @property
    def fits(self) -> bool:
        """True when it fits, or when the device's memory is unknown (nothing to refuse on)."""
        return self.available_bytes is None or self.total_bytes <= self.available_bytes

    def summary(self) -> str:
        names = " + ".join(preset.preset for preset in self.presets)
        sharing = "" if self.shared else " unshared"
        load = ""
        if self.load_bytes > self.weights_bytes + self.activation_bytes:
            load = f", load peak before fp8 {gib(self.load_bytes)}"
        return (
            f"{names}{sharing} need {gib(self.total_bytes)} (weights {gib(self.weights_bytes)}, "
            f"largest job {gib(self.activation_bytes)}{load}, margin {gib(self.margin_bytes)})"
        )

    def refusal(self) -> str:
        """The one line a refused start prints: the numbers, then every way to make it fit."""
        have = "unknown" if self.available_bytes is None else gib(self.available_bytes)
        fixes = [
            "serve fewer presets (engine_options.models / preset)" if len(self.presets) > 1 else "",
            "cpu_offload = 'model'" if self.cpu_offload == "none" else "",
            "fp8 = true (transformer weights in 8 bits)",
            "or a GPU with more memory",
        ]
        return (
            f"the memory plan does not fit: {self.summary()} but {self.device} has {have} "
            f"available; fixes: {', '.join(fix for fix in fixes if fix)} "
            "(see `reelforge models plan`)"
        )


# --- public entry points ------------------------------------------------------------------


def plan_for(
    options: DiffusersOptions,
    available_bytes: int | None = None,
    *,
    presets: Iterable[Preset] | None = None,
    share: bool | None = None,
    device: str = "",
) -> MemoryPlan:
    """Plan ``presets`` (default: the configured ones) against ``available_bytes``.

    No weight is read and nothing is downloaded; torch and diffusers must be installed.
    ``share`` defaults to ``options.share_components``.
    """
    chosen = list(presets) if presets is not None else options.presets_in_use()
    sharing = options.share_components if share is None else share
    dtype_name = planned_dtype(options)
    found: dict[str, ComponentFootprint] = {}
    preset_plans: list[PresetFootprint] = []
    notes: list[str] = []
    for preset in chosen:
        specs = list(_component_specs(preset, options, notes))
        keys: list[str] = []
        for spec in specs:
            key = spec.weights if sharing else f"{preset.name}:{spec.weights}"
            keys.append(key)
            if key in found:
                old = found[key]
                found[key] = _with_preset(old, preset.name)
                continue
            found[key] = _footprint(spec, dtype_name, options, preset.name)
        lora = _stage2_lora_footprint(preset, options, specs, dtype_name)
        if lora is not None:
            keys.append(lora.weights)
            found[lora.weights] = lora
        activation, tokens = _activation_estimate(preset, options, specs)
        preset_plans.append(PresetFootprint(preset.name, tuple(keys), activation, tokens))
    return MemoryPlan(
        components=tuple(found.values()),
        presets=tuple(preset_plans),
        cpu_offload=options.cpu_offload,
        device=device or ("the device" if options.device == "auto" else options.device),
        available_bytes=available_bytes,
        shared=sharing,
        notes=tuple(dict.fromkeys(notes)),
    )


def available_memory(options: DiffusersOptions, device: torch.device) -> int | None:
    """Free memory on ``device`` now, capped by ``memory_budget``; None when not knowable."""
    import torch

    budget = parse_size(options.memory_budget) if options.memory_budget else None
    free: int | None = None
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
    if free is None:
        return budget
    return free if budget is None else min(free, budget)


def check_plan(options: DiffusersOptions, device: torch.device) -> MemoryPlan:
    """The plan for the configured presets on ``device``; ``EngineLoadError`` if it cannot fit."""
    plan = plan_for(options, available_memory(options, device), device=str(device))
    if not plan.fits:
        raise EngineLoadError(plan.refusal())
    return plan


def planned_dtype(options: DiffusersOptions) -> str:
    """The dtype weights load in: ``auto`` is bfloat16 on GPUs, float32 on CPU."""
    if options.dtype != "auto":
        return options.dtype
    return "float32" if options.device == "cpu" else "bfloat16"


def weights_identity(folder: Path) -> str:
    """What a component folder's weights are, for sharing: equal identity, equal module.

    Hugging Face cache files are symlinks to blobs named by their content hash, which is used
    as is; other files are identified by size and three sampled megabytes (fine-tuned weights
    differ throughout, so a sample tells them apart without reading gigabytes). The config,
    without its bookkeeping keys, is part of the identity.
    """
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        values = json.loads(config.read_text(encoding="utf-8"))
        shape = {key: value for key, value in values.items() if not key.startswith("_")}
        digest.update(json.dumps(shape, sort_keys=True).encode())
    for path in sorted(folder.iterdir()):
        if path.suffix in (".safetensors", ".bin", ".pt", ".gguf"):
            digest.update(path.name.encode())
            digest.update(_file_identity(path).encode())
    return f"{folder.name}:{digest.hexdigest()[:16]}"


# --- component specs: what to count, from local or published configs --------------------


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    name: str
    library: str
    class_name: str
    config: dict[str, Any]
    weights: str
    source: str


def _component_specs(
    preset: Preset, options: DiffusersOptions, notes: list[str]
) -> Iterator[ComponentSpec]:
    from reelforge.engines.diffusion.loading import local_checkpoint, local_upsampler

    directory = local_checkpoint(preset, options)
    if directory is not None:
        yield from _local_specs(directory)
    else:
        yield from _published_specs(preset.hub_id, preset)
        notes.append(f"{preset.name}: no local copy; planned from the released configs")
    if not (preset.two_stage_recipe and options.two_stage):
        return
    upsampler = local_upsampler(preset, options, directory)
    if upsampler is not None:
        yield _local_spec("latent_upsampler", "diffusers", "LTX2LatentUpsamplerModel", upsampler)
    elif preset.upsampler_hub_id:
        yield from _published_specs(preset.upsampler_hub_id, preset)


def _local_specs(directory: Path) -> Iterator[ComponentSpec]:
    index = json.loads((directory / "model_index.json").read_text(encoding="utf-8"))
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or value[0] is None:
            continue
        folder = directory / name
        if (folder / "config.json").is_file():  # a module (schedulers, tokenizers have none)
            yield _local_spec(name, value[0], value[1], folder)


def _local_spec(name: str, library: str, class_name: str, folder: Path) -> ComponentSpec:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return ComponentSpec(name, library, class_name, config, weights_identity(folder), "local")


def _published_specs(hub_id: str, preset: Preset) -> Iterator[ComponentSpec]:
    published = _published()
    checkpoint = published["checkpoints"].get(hub_id)
    if checkpoint is None:
        raise EngineLoadError(
            f"no released config is known for {hub_id} ({preset.name}); download it first "
            f"(`reelforge models pull {preset.name}`) so the plan can read its own configs"
        )
    for name, entry in checkpoint.items():
        architecture = published["architectures"][entry["architecture"]]
        yield ComponentSpec(
            name,
            architecture["library"],
            architecture["class"],
            dict(architecture["config"]),
            entry["weights"],
            "published",
        )


@cache
def _published() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PUBLISHED_CONFIGS.read_text(encoding="utf-8"))
    return data


def published_config(hub_id: str, component: str) -> dict[str, Any]:
    """A released component's config (e.g. for building a full-size pipeline without weights)."""
    entry = _published()["checkpoints"][hub_id][component]
    config: dict[str, Any] = dict(_published()["architectures"][entry["architecture"]]["config"])
    return config


# --- counting on the meta device -----------------------------------------------------------


def _footprint(
    spec: ComponentSpec, dtype_name: str, options: DiffusersOptions, preset: str
) -> ComponentFootprint:
    fp8 = options.fp8 and spec.name == "transformer"
    config = json.dumps(spec.config, sort_keys=True)
    parameters, total, largest_leaf = _count(spec.library, spec.class_name, config, dtype_name, fp8)
    loaded = _count(spec.library, spec.class_name, config, dtype_name, False)[1]
    return ComponentFootprint(
        name=spec.name,
        class_name=spec.class_name,
        weights=spec.weights,
        parameters=parameters,
        bytes=total,
        dtype=f"{dtype_name}+float8" if fp8 else dtype_name,
        source=spec.source,
        presets=(preset,),
        largest_leaf_bytes=largest_leaf,
        loaded_bytes=loaded,
    )


@cache
def _count(
    library: str, class_name: str, config: str, dtype_name: str, fp8: bool
) -> tuple[int, int, int]:
    """(parameters, bytes, largest leaf module's bytes); cached: a 19 B model takes seconds."""
    module = meta_module(library, class_name, json.loads(config))
    sizes = dict(_tensor_bytes(module, library, dtype_name, fp8))
    leaves = [
        sum(sizes.get(_joined(prefix, name), 0) for name, _ in leaf.named_parameters())
        for prefix, leaf in module.named_modules()
        if not list(leaf.children())
    ]
    parameters = sum(parameter.numel() for parameter in module.parameters())
    return parameters, sum(sizes.values()), max(leaves, default=0)


def meta_module(library: str, class_name: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate a component on the meta device: shapes and dtypes, no memory, no weights."""
    import torch

    module_class = _component_class(library, class_name)
    with torch.device("meta"):
        if library != "transformers":
            module: nn.Module = module_class.from_config(config)
        else:
            module = module_class(module_class.config_class.from_dict(config))
    return module


def _component_class(library: str, class_name: str) -> Any:
    """The class a ``model_index.json`` entry names: a library, or a diffusers pipeline module
    (``["ltx2", "LTX2Vocoder"]`` lives in ``diffusers.pipelines.ltx2``)."""
    if library in ("diffusers", "transformers"):
        places = [library, "diffusers.pipelines.ltx2"]
    else:
        places = [f"diffusers.pipelines.{library}", "diffusers"]
    for place in places:
        found = getattr(importlib.import_module(place), class_name, None)
        if found is not None:
            return found
    raise EngineLoadError(f"{library} has no {class_name}; is the installed version too old?")


def _tensor_bytes(
    module: nn.Module, library: str, dtype_name: str, fp8: bool
) -> Iterator[tuple[str, int]]:
    """(name, bytes) per parameter and buffer in the dtype each is loaded in."""
    from torch import nn

    keep = _kept_in_float32(module, library, dtype_name)
    linear_weights = {
        f"{name}.weight" for name, child in module.named_modules() if isinstance(child, nn.Linear)
    }
    compute = _DTYPE_BYTES[dtype_name]
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    for name, tensor in tensors:
        if not tensor.is_floating_point():
            size = tensor.element_size()
        elif any(part in name for part in keep):
            size = 4
        elif fp8 and name in linear_weights:
            size = 1
        else:
            size = compute
        yield name, tensor.numel() * size


def _kept_in_float32(module: nn.Module, library: str, dtype_name: str) -> list[str]:
    """The module names each library keeps in float32 whatever dtype is asked for."""
    if library != "transformers":
        return list(getattr(module, "_keep_in_fp32_modules", None) or [])
    strict = list(getattr(module, "_keep_in_fp32_modules_strict", None) or [])
    if dtype_name == "float16":
        strict += list(getattr(module, "_keep_in_fp32_modules", None) or [])
    return strict


def _with_preset(component: ComponentFootprint, preset: str) -> ComponentFootprint:
    if preset in component.presets:
        return component
    return replace(component, presets=(*component.presets, preset))


# --- the stage-2 LoRA ----------------------------------------------------------------------

# Planning before the download assumes the distilled LoRA adapts every nn.Linear inside the
# transformer's blocks (video, audio and audio-video attention q/k/v/out, feed-forwards) at the
# rank its name states, and nothing outside them: a rank-r adapter on Linear(in, out) holds
# r * (in + out) parameters, kept unfused (peft) next to the base weights in the load dtype.
# Once the file is on this machine, its own tensor shapes are counted instead (header only).
_LORA_TARGETS: Final = "transformer_blocks."


def _stage2_lora_footprint(
    preset: Preset, options: DiffusersOptions, specs: list[ComponentSpec], dtype_name: str
) -> ComponentFootprint | None:
    from reelforge.engines.diffusion.loading import local_checkpoint, local_stage2_lora
    from reelforge.engines.diffusion.presets import LTX2_DISTILLED_LORA_RANK

    lora = preset.stage2_lora
    if lora is None or not options.two_stage:
        return None
    path = local_stage2_lora(preset, options, local_checkpoint(preset, options))
    if path is not None:
        parameters, largest = _lora_file_parameters(path)
        weights, source = f"stage2_lora:{_file_identity(path)[:16]}", "local"
    else:
        transformer = next(spec for spec in specs if spec.name == "transformer")
        config = json.dumps(transformer.config, sort_keys=True)
        parameters, largest = _lora_parameters(
            transformer.library, transformer.class_name, config, LTX2_DISTILLED_LORA_RANK
        )
        weights, source = f"stage2_lora:{lora.repo_id}/{lora.filename}@{lora.revision}", "published"
    size = _DTYPE_BYTES[dtype_name]
    return ComponentFootprint(
        name="stage2_lora",
        class_name="LoRA",
        weights=weights,
        parameters=parameters,
        bytes=parameters * size,
        dtype=dtype_name,
        source=source,
        presets=(preset.name,),
        largest_leaf_bytes=largest * size,
        loaded_bytes=parameters * size,
    )


@cache
def _lora_parameters(library: str, class_name: str, config: str, rank: int) -> tuple[int, int]:
    """(parameters, largest adapted layer's) of a rank-``rank`` LoRA on the block linears."""
    from torch import nn

    module = meta_module(library, class_name, json.loads(config))
    sizes = [
        rank * (child.in_features + child.out_features)
        for name, child in module.named_modules()
        if name.startswith(_LORA_TARGETS) and isinstance(child, nn.Linear)
    ]
    return sum(sizes), max(sizes, default=0)


def _lora_file_parameters(path: Path) -> tuple[int, int]:
    """(parameters, largest adapted layer's) of a LoRA file, from its safetensors header."""
    from safetensors import safe_open

    layers: dict[str, int] = {}
    with safe_open(str(path), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open handles are not iterable
            count = 1
            for dimension in handle.get_slice(key).get_shape():
                count *= int(dimension)
            layer = key.split(".lora_")[0]
            layers[layer] = layers.get(layer, 0) + count
    return sum(layers.values()), max(layers.values(), default=0)


# --- working memory of the largest job ----------------------------------------------------

# Per transformer pass, per token, the widest moment of a block: the residual stream, its
# normalized copy and attention output (~4 x hidden), q/k/v (3 x hidden), and the feed-forward's
# inner activation before and after its nonlinearity (2 x inner). Attention itself is assumed
# memory-efficient (SDPA flash / cuDNN / efficient kernels): linear in tokens.
_HIDDEN_COPIES: Final = 7
_INNER_COPIES: Final = 2
# VAE decode: the whole clip in the compute dtype as the decoder assembles it, plus the
# float32 copy the video processor makes of it, plus one tile's working set.
_DECODE_BYTES_PER_SAMPLE: Final = 2 + 4
_TILE_COPIES: Final = 4


def _activation_estimate(
    preset: Preset, options: DiffusersOptions, specs: list[ComponentSpec]
) -> tuple[int, int]:
    configs = {spec.name: spec.config for spec in specs}
    transformer = configs.get("transformer", {})
    two_stage = preset.two_stage_recipe and options.two_stage
    multiple = preset.size_multiple * (2 if two_stage else 1)
    temporal = 8 if preset.family == "ltx2" else 4
    plan = plan_generation(LARGEST_JOB, multiple, temporal)
    spatial = 32  # LTX-2: VAE 32x, patch 1; Wan2.2: VAE 16x, patch 2
    latent_frames = (plan.num_frames - 1) // temporal + 1
    tokens = latent_frames * (plan.height // spatial) * (plan.width // spatial)
    heads = int(transformer.get("num_attention_heads") or 32)
    hidden = heads * int(transformer.get("attention_head_dim") or 128)
    inner = int(transformer.get("ffn_dim") or 4 * hidden)
    act = 4 if planned_dtype(options) == "float32" else 2
    # Classifier-free guidance batches the conditional and unconditional passes on LTX-2; a
    # two-stage run guides only its half-size stage (a quarter of the tokens), and its
    # full-size stage 2 runs unguided.
    guided = preset.family == "ltx2" and preset.guidance_scale > 1 and not two_stage
    batch = 2 if guided else 1
    denoise = batch * tokens * (_HIDDEN_COPIES * hidden + _INNER_COPIES * inner) * act
    samples = plan.num_frames * 3 * plan.height * plan.width
    decode = samples * _DECODE_BYTES_PER_SAMPLE + _tile_bytes(configs.get("vae", {}), act)
    return max(denoise, decode), tokens


def _tile_bytes(vae: dict[str, Any], act: int) -> int:
    """One decoder tile at its widest (diffusers' tiling: 512x512 samples, 16 frames)."""
    channels = vae.get("decoder_block_out_channels") or [vae.get("decoder_base_dim") or 256]
    patch = int(vae.get("patch_size") or 1)
    widest = int(channels[0] or 256) * (512 // patch) ** 2 * 17
    return _TILE_COPIES * widest * act


def _joined(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _file_identity(path: Path) -> str:
    resolved = path.resolve()
    if resolved.parent.name == "blobs":  # the Hugging Face cache names blobs by content hash
        return resolved.name
    size = resolved.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with resolved.open("rb") as handle:
        for offset in (0, max(0, size // 2 - _SAMPLE_BYTES // 2), max(0, size - _SAMPLE_BYTES)):
            handle.seek(offset)
            digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()
