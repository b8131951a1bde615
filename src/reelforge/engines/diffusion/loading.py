"""Loading checkpoints: dependency checks, local-vs-hub resolution, device/dtype/memory options.

Everything here is called from ``DiffusersEngine.load()`` (once per worker process) and from
``reelforge models verify``; every failure is an ``EngineLoadError`` that says what to fix.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelforge.domain.errors import EngineLoadError
from reelforge.engines.diffusion.options import DiffusersOptions
from reelforge.engines.diffusion.presets import Family, HubFile, Preset

if TYPE_CHECKING:
    import torch

# diffusers pipelines are dynamically composed (components are set by register_modules), so
# static typing cannot see their attributes; they are handled as Any.
Pipeline = Any

GPU_EXTRA_HINT = "install the gpu extra: pip install 'reelforge[gpu]'"
_REQUIRED_MODULES = ("torch", "diffusers", "transformers", "accelerate", "huggingface_hub")
_PIPELINE_CLASSES: dict[Family, tuple[str, str]] = {
    "ltx2": ("LTX2Pipeline", "LTX2ImageToVideoPipeline"),
    "wan": ("WanPipeline", "WanImageToVideoPipeline"),
}
_DTYPES = {"bfloat16": "bfloat16", "float16": "float16", "float32": "float32"}
UPSAMPLER_FOLDER = "latent_upsampler"
STAGE2_ADAPTER = "stage2"
"""The peft adapter name of a preset's stage-2 LoRA (enabled only while stage 2 runs)."""
log = logging.getLogger(__name__)

SharedModules = dict[str, Any]
"""Modules already loaded in this process, by weights identity (``plan.weights_identity``)."""


@dataclass(slots=True)
class LoadedModel:
    """One checkpoint in memory: its text-to-video and image-to-video views share weights."""

    family: Family
    source: str
    text_to_video: Pipeline
    image_to_video: Pipeline
    upsampler: Pipeline | None
    device: torch.device
    dtype: torch.dtype
    cpu_offload: str
    stage2_adapter: str | None = None
    """Loaded but disabled LoRA adapter that the runner enables for stage 2 only."""

    def prepare(self, pipeline: Pipeline) -> None:
        """Re-arm offload hooks for the view about to run (the views share modules)."""
        if self.cpu_offload == "model":
            pipeline.enable_model_cpu_offload(device=self.device)
        elif self.cpu_offload == "sequential":
            pipeline.enable_sequential_cpu_offload(device=self.device)


def quiet_loading_bars() -> None:
    """Worker logs get one line per job, not a progress bar per weight file."""
    diffusers_logging: Any = importlib.import_module("diffusers.utils.logging")
    transformers_logging: Any = importlib.import_module("transformers.utils.logging")
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def require_gpu_extra() -> None:
    """Fail with the install command when torch/diffusers/transformers are missing."""
    missing = []
    for name in _REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise EngineLoadError(
            f"the diffusers engine needs {', '.join(missing)}, which are not installed; "
            f"{GPU_EXTRA_HINT}"
        )


def resolve_device(requested: str) -> torch.device:
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineLoadError(
            f"engine_options.device is {requested!r} but torch sees no CUDA GPU; "
            "install a CUDA build of torch or set device = 'cpu'"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise EngineLoadError(
            f"engine_options.device is {requested!r} but only "
            f"{torch.cuda.device_count()} GPU(s) are visible"
        )
    return device


def resolve_dtype(requested: str, device: torch.device) -> torch.dtype:
    import torch

    if requested == "auto":
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    dtype: torch.dtype = getattr(torch, _DTYPES[requested])
    return dtype


def is_local_source(source: str) -> bool:
    """Paths (absolute, relative or ~) are local; ``owner/name`` hub ids are not."""
    return source.startswith(("/", ".", "~")) or Path(source).expanduser().exists()


def check_local_checkpoint(directory: Path, preset: Preset) -> None:
    """A diffusers checkpoint directory: model_index.json plus one folder per component."""
    if not directory.is_dir():
        raise EngineLoadError(
            f"model directory {directory} does not exist; run `reelforge models pull "
            f"{preset.name} --to {directory}` or fix engine_options.model_paths.{preset.name}"
        )
    index_file = directory / "model_index.json"
    if not index_file.is_file():
        raise EngineLoadError(
            f"{directory} has no model_index.json, so it is not a diffusers checkpoint; "
            f"point engine_options.model_paths.{preset.name} at the folder that holds it"
        )
    index = json.loads(index_file.read_text(encoding="utf-8"))
    components = [
        name
        for name, value in index.items()
        if not name.startswith("_") and isinstance(value, list) and value[0] is not None
    ]
    missing = [name for name in components if not (directory / name).is_dir()]
    if missing:
        raise EngineLoadError(
            f"{directory} lacks component folder(s) {', '.join(missing)}; the download is "
            f"incomplete: run `reelforge models pull {preset.name} --to {directory}` again"
        )


def family_of_checkpoint(directory: Path) -> Family:
    """Read ``model_index.json``'s pipeline class to tell LTX-2 from Wan."""
    index_file = directory / "model_index.json"
    if not index_file.is_file():
        raise EngineLoadError(f"{directory} has no model_index.json; it is not a checkpoint")
    class_name = str(json.loads(index_file.read_text(encoding="utf-8")).get("_class_name", ""))
    if class_name.startswith("LTX2"):
        return "ltx2"
    if class_name.startswith("Wan"):
        return "wan"
    raise EngineLoadError(
        f"{directory} holds a {class_name or 'unknown'} pipeline; the diffusers engine "
        "serves LTX-2 (LTX2Pipeline) and Wan2.2 (WanPipeline) checkpoints"
    )


def load_model(
    preset: Preset, options: DiffusersOptions, shared: SharedModules | None = None
) -> LoadedModel:
    """Load ``preset``'s checkpoint with the configured device, dtype and memory options.

    ``shared``: modules other presets already loaded; components with the same weights are
    taken from it instead of being read again, and this checkpoint's modules are added to it.
    """
    require_gpu_extra()
    quiet_loading_bars()
    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device)
    if options.cpu_offload != "none" and device.type == "cpu":  # checked before any weight
        raise EngineLoadError(
            "engine_options.cpu_offload needs a GPU device; set cpu_offload = 'none' on CPU"
        )
    directory = resolve_checkpoint(preset, options)
    check_local_checkpoint(directory, preset)
    upsampler_folder = require_upsampler(preset, options, directory)
    lora_file = require_stage2_lora(preset, options, directory) if upsampler_folder else None
    pool = shared if shared is not None and options.share_components else {}
    identities = component_identities(directory) if options.share_components else {}
    reused = {name: pool[key] for name, key in identities.items() if key in pool}
    if reused:
        log.info("%s: sharing %s with presets already loaded", preset.name, ", ".join(reused))
    text_to_video = _from_pretrained(preset, directory, dtype, reused)
    for name, key in identities.items():
        pool.setdefault(key, text_to_video.components[name])
    upsampler = None
    if upsampler_folder is not None:
        upsampler = _load_upsampler(upsampler_folder, text_to_video, dtype, pool)
    adapter = None
    if lora_file is not None:
        adapter = load_stage2_lora(preset, text_to_video, lora_file)
    return model_from_pipeline(
        preset, text_to_video, options, upsampler, str(directory), stage2_adapter=adapter
    )


def component_identities(directory: Path) -> dict[str, str]:
    """Component name -> weights identity, for each weight-carrying folder of a checkpoint."""
    from reelforge.engines.diffusion.plan import weights_identity

    index = json.loads((directory / "model_index.json").read_text(encoding="utf-8"))
    return {
        name: weights_identity(directory / name)
        for name, value in index.items()
        if not name.startswith("_")
        and isinstance(value, list)
        and value[0] is not None
        and (directory / name / "config.json").is_file()
    }


def model_from_pipeline(
    preset: Preset,
    text_to_video: Pipeline,
    options: DiffusersOptions,
    upsampler: Pipeline | None = None,
    source: str = "in-memory",
    *,
    stage2_adapter: str | None = None,
) -> LoadedModel:
    """Wrap an already-built text-to-video pipeline (benchmarks build theirs in code)."""
    device = resolve_device(options.device)
    text_to_video.set_progress_bar_config(disable=True)
    image_to_video = _image_to_video_view(preset.family, text_to_video)
    loaded = LoadedModel(
        preset.family,
        source,
        text_to_video,
        image_to_video,
        upsampler,
        device,
        text_to_video.dtype,
        options.cpu_offload,
        stage2_adapter,
    )
    _apply_runtime_options(loaded, options)
    return loaded


def resolve_checkpoint(preset: Preset, options: DiffusersOptions) -> Path:
    """The local directory of ``preset``'s checkpoint: a configured path or the hub cache."""
    source = options.source_for(preset)
    if is_local_source(source):
        return Path(source).expanduser()
    revision = preset.revision if source == preset.hub_id else "main"
    return hub_snapshot(source, preset, download=options.allow_download, revision=revision)


def local_checkpoint(preset: Preset, options: DiffusersOptions) -> Path | None:
    """``preset``'s checkpoint directory if it is on this machine already; never downloads."""
    source = options.source_for(preset)
    if is_local_source(source):
        directory = Path(source).expanduser()
        return directory if (directory / "model_index.json").is_file() else None
    try:
        revision = preset.revision if source == preset.hub_id else "main"
        directory = hub_snapshot(source, preset, revision=revision)
    except (EngineLoadError, ImportError):
        return None
    return directory if (directory / "model_index.json").is_file() else None


def hub_snapshot(
    repo_id: str,
    preset: Preset,
    download: bool = False,
    revision: str = "main",
    allow_patterns: list[str] | None = None,
) -> Path:
    """Path of ``repo_id`` at ``revision`` in the Hugging Face cache (downloading it only when
    allowed)."""
    from huggingface_hub import snapshot_download

    hint = (
        f"run `reelforge models pull {preset.name}` or set "
        f"engine_options.model_paths.{preset.name} to a local directory"
    )
    with _hub_errors(repo_id, hint):
        path = snapshot_download(
            repo_id,
            revision=revision,
            local_files_only=not download,
            allow_patterns=allow_patterns,
        )
    return Path(path)


@contextmanager
def _hub_errors(what: str, missing_hint: str) -> Iterator[None]:
    """The hub client's errors as one load error: not cached (and no download allowed) says
    ``missing_hint``; a failed download says why."""
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        yield
    except LocalEntryNotFoundError as exc:
        raise EngineLoadError(
            f"{what} is not in the local Hugging Face cache; {missing_hint}"
        ) from exc
    except (HfHubHTTPError, OSError) as exc:
        raise EngineLoadError(f"could not download {what}: {exc}") from exc


def _from_pretrained(
    preset: Preset, directory: Path, dtype: torch.dtype, reused: dict[str, Any]
) -> Pipeline:
    import diffusers

    pipeline_class = getattr(diffusers, _PIPELINE_CLASSES[preset.family][0])
    try:
        # Components passed in are used as they are: diffusers reads no file for them.
        pipeline: Pipeline = pipeline_class.from_pretrained(
            str(directory), dtype=dtype, local_files_only=True, **reused
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineLoadError(
            f"could not load {preset.name} from {directory}: {exc}; check that the folder "
            f"holds a complete {_PIPELINE_CLASSES[preset.family][0]} checkpoint"
        ) from exc
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _image_to_video_view(family: Family, text_to_video: Pipeline) -> Pipeline:
    """The image-to-video pipeline over the same modules (no copy of any weight).

    Built with the constructor rather than ``from_pipe``: ``from_pipe`` casts every module to
    one dtype, which would push the modules diffusers keeps in float32 (Wan's norms and rope)
    down to bfloat16 for both views.
    """
    import diffusers

    view_class = getattr(diffusers, _PIPELINE_CLASSES[family][1])
    accepted = inspect.signature(view_class.__init__).parameters
    components = dict(text_to_video.components)
    settings = {  # plain config values such as Wan2.2's expand_timesteps
        name: value for name, value in text_to_video.config.items() if name not in components
    }
    shared = {**settings, **components}
    view = view_class(**{name: value for name, value in shared.items() if name in accepted})
    view.set_progress_bar_config(disable=True)
    return view


def local_upsampler(
    preset: Preset, options: DiffusersOptions, checkpoint: Path | None
) -> Path | None:
    """Where ``preset``'s latent upsampler is on this machine, or None; never downloads.

    Looked up in order: the configured path, ``<checkpoint>/latent_upsampler``, then the
    preset's upsampler repo in the hub cache (where ``reelforge models pull`` puts it).
    """
    configured = options.upsampler_paths.get(preset.name)
    if configured:
        directory = Path(configured).expanduser()
        if not (directory / "config.json").is_file():
            raise EngineLoadError(
                f"engine_options.upsampler_paths.{preset.name} = {configured} has no "
                "config.json; point it at an LTX2LatentUpsamplerModel folder"
            )
        return directory
    candidates = [checkpoint / UPSAMPLER_FOLDER] if checkpoint is not None else []
    if preset.upsampler_hub_id:
        try:
            cached = hub_snapshot(
                preset.upsampler_hub_id, preset, revision=preset.upsampler_revision
            )
            candidates.append(cached / UPSAMPLER_FOLDER)
        except (EngineLoadError, ImportError):
            pass
    return next((path for path in candidates if (path / "config.json").is_file()), None)


def require_upsampler(preset: Preset, options: DiffusersOptions, checkpoint: Path) -> Path | None:
    """The upsampler folder the two-stage recipe needs; a missing one is a load error.

    None only when the preset has no second stage, or when ``two_stage = false`` chose one
    full-size stage explicitly (logged: it is a different recipe, ~1.6x the transformer work).
    """
    if not preset.two_stage_recipe:
        return None
    if not options.two_stage:
        log.info(
            "%s: two_stage = false: one full-size stage of %d steps, no latent upsampler",
            preset.name,
            options.steps_for(preset),
        )
        return None
    found = local_upsampler(preset, options, checkpoint)
    if found is None and options.allow_download and preset.upsampler_hub_id:
        downloaded = hub_snapshot(
            preset.upsampler_hub_id,
            preset,
            download=True,
            revision=preset.upsampler_revision,
            allow_patterns=[f"{UPSAMPLER_FOLDER}/*"],
        )
        found = downloaded / UPSAMPLER_FOLDER if (downloaded / UPSAMPLER_FOLDER).is_dir() else None
    if found is None:
        raise EngineLoadError(
            f"{preset.name} runs two stages and needs its latent upsampler, which is not in "
            f"{checkpoint / UPSAMPLER_FOLDER} nor in the Hugging Face cache "
            f"({preset.upsampler_hub_id}); run `reelforge models pull {preset.name}`, set "
            f"engine_options.upsampler_paths.{preset.name}, or set two_stage = false to run "
            "one full-size stage instead"
        )
    return found


def local_stage2_lora(
    preset: Preset, options: DiffusersOptions, checkpoint: Path | None
) -> Path | None:
    """Where ``preset``'s stage-2 LoRA file is on this machine, or None; never downloads.

    Looked up in order: the configured path, ``<checkpoint>/<file name>`` (where ``models pull
    --to`` puts it), then the Hugging Face cache.
    """
    lora = preset.stage2_lora
    configured = options.stage2_lora_paths.get(preset.name)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise EngineLoadError(
                f"engine_options.stage2_lora_paths.{preset.name} = {configured} is not a file; "
                "point it at the LoRA's .safetensors file"
            )
        return path
    if lora is None:
        return None
    if checkpoint is not None and (checkpoint / lora.filename).is_file():
        return checkpoint / lora.filename
    try:
        return hub_file(lora, preset, download=False)
    except (EngineLoadError, ImportError):
        return None


def require_stage2_lora(preset: Preset, options: DiffusersOptions, checkpoint: Path) -> Path | None:
    """The LoRA file stage 2 needs (only presets that name one); a missing one is a load error."""
    lora = preset.stage2_lora
    if lora is None:
        return None
    found = local_stage2_lora(preset, options, checkpoint)
    if found is None and options.allow_download:
        found = hub_file(lora, preset, download=True)
    if found is None:
        raise EngineLoadError(
            f"{preset.name} runs two stages and needs its stage-2 LoRA {lora.filename}, which "
            f"is not in {checkpoint} nor in the Hugging Face cache ({lora.repo_id}); run "
            f"`reelforge models pull {preset.name}`, set engine_options.stage2_lora_paths."
            f"{preset.name}, or set two_stage = false to run one full-size stage instead"
        )
    return found


def hub_file(lora: HubFile, preset: Preset, download: bool) -> Path:
    """One file of a hub repo in the Hugging Face cache (downloading it only when allowed)."""
    from huggingface_hub import hf_hub_download

    hint = f"run `reelforge models pull {preset.name}`"
    with _hub_errors(f"{lora.repo_id}/{lora.filename}", hint):
        path = hf_hub_download(
            lora.repo_id,
            lora.filename,
            revision=lora.revision,
            local_files_only=not download,
        )
    return Path(path)


def load_stage2_lora(preset: Preset, pipeline: Pipeline, path: Path) -> str:
    """Attach the LoRA at ``path`` as a disabled adapter; returns the adapter name.

    Lightricks' original key format is converted by diffusers' ``LTX2LoraLoaderMixin``. A
    transformer shared with a preset that loaded it already keeps the one copy.
    """
    try:
        importlib.import_module("peft")
    except ImportError:
        raise EngineLoadError(
            f"{preset.name}'s stage-2 LoRA needs peft, which is not installed; {GPU_EXTRA_HINT}"
        ) from None
    loaded = getattr(pipeline.transformer, "peft_config", None) or {}
    if STAGE2_ADAPTER not in loaded:
        try:
            pipeline.load_lora_weights(str(path), adapter_name=STAGE2_ADAPTER)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise EngineLoadError(
                f"could not load {preset.name}'s stage-2 LoRA from {path}: {exc}; it must be "
                "an LTX-2 LoRA matching this checkpoint's transformer"
            ) from exc
    pipeline.disable_lora()  # stage 1 and every other preset run without it
    return STAGE2_ADAPTER


def _load_upsampler(
    directory: Path, text_to_video: Pipeline, dtype: torch.dtype, pool: SharedModules
) -> Pipeline:
    from reelforge.engines.diffusion.plan import weights_identity

    ltx2: Any = importlib.import_module("diffusers.pipelines.ltx2")
    key = weights_identity(directory)
    model = pool.get(key)
    if model is None:
        model = ltx2.LTX2LatentUpsamplerModel.from_pretrained(str(directory), dtype=dtype)
        pool[key] = model
    pipeline = ltx2.LTX2LatentUpsamplePipeline(vae=text_to_video.vae, latent_upsampler=model)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _apply_runtime_options(loaded: LoadedModel, options: DiffusersOptions) -> None:
    pipeline: Any = loaded.text_to_video
    if options.vae_tiling:
        pipeline.vae.enable_tiling()
    if options.attention_backend:
        try:
            pipeline.transformer.set_attention_backend(options.attention_backend)
        except (ValueError, RuntimeError, ImportError) as exc:
            raise EngineLoadError(
                f"attention backend {options.attention_backend!r} is unusable here: {exc}; "
                "unset engine_options.attention_backend or install its kernels"
            ) from exc
    if options.cpu_offload == "none":
        pipeline.to(loaded.device)
        if loaded.upsampler is not None:
            loaded.upsampler.to(loaded.device)
    if options.fp8:  # before compile: the compiled graphs must see the float8 linears
        from reelforge.engines.diffusion.speed import apply_fp8

        apply_fp8(pipeline.transformer, loaded.device)
    if options.compile:
        pipeline.transformer.compile_repeated_blocks(fullgraph=True)
