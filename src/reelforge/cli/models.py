"""``reelforge models list|pull|plan|verify|make-tiny``: the diffusers engine's checkpoints.

Nothing here imports torch or diffusers at import time, so ``reelforge --help`` stays fast and
works without the gpu extra; each command imports what it needs when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from reelforge.cli.common import ConfigOption, print_error
from reelforge.core.config import load_settings
from reelforge.domain.errors import ConfigError, EngineLoadError, ReelForgeError
from reelforge.engines.diffusion.options import DiffusersOptions, parse_options
from reelforge.engines.diffusion.presets import PRESETS, Preset, preset_names

if TYPE_CHECKING:
    from reelforge.engines.diffusion.plan import MemoryPlan

models_app = typer.Typer(
    help="List, download, verify and build the diffusers engine's models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _out() -> Console:
    """Standard output, measured when a command runs (not at import: COLUMNS may change).
    No markup: paths and hub ids are printed as they are (``[...]`` included)."""
    return Console(soft_wrap=True, markup=False)


def _fail(message: str, code: int = 1) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


def _options(config: Path | None) -> DiffusersOptions:
    """The diffusers options from settings when the diffusers engine is configured."""
    try:
        settings = load_settings(config)
        raw = settings.engine_options if settings.engine == "diffusers" else {}
        return parse_options(raw)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise _fail(f"unknown preset {name!r}; use one of {', '.join(preset_names())}", 2)
    return PRESETS[name]


def _where(preset: Preset, options: DiffusersOptions) -> str:
    from reelforge.engines.diffusion.loading import hub_snapshot, is_local_source

    source = options.source_for(preset)
    if is_local_source(source):
        found = (Path(source).expanduser() / "model_index.json").is_file()
        return f"{source}" if found else f"missing: {source}"
    try:
        return f"cached: {hub_snapshot(source, preset)}"
    except (EngineLoadError, ImportError):
        return "not downloaded"


@models_app.command("list")
def list_presets(config: ConfigOption = None) -> None:
    """Show the presets, their hub ids and whether their checkpoints are present locally."""
    options = _options(config)
    table = Table("preset", "hub id", "audio", "steps", "local copy")
    for name in preset_names():
        preset = PRESETS[name]
        audio = "stereo" if preset.has_audio else "silent"
        steps = str(options.steps_for(preset))
        where = _where(preset, options)
        table.add_row(name, preset.hub_id, audio, steps, where)
    _out().print(table)
    for name in preset_names():
        _out().print(f"{name}: {PRESETS[name].description}", highlight=False)
    mapping = ", ".join(f"{model} -> {name}" for model, name in options.models.items())
    _out().print(f"default preset: {options.preset}; model names: {mapping or 'none'}")


@models_app.command()
def pull(
    preset_name: Annotated[str, typer.Argument(metavar="PRESET", help="Preset to download.")],
    to: Annotated[
        Path | None, typer.Option("--to", help="Directory to download into (default: HF cache).")
    ] = None,
) -> None:
    """Download PRESET's checkpoint from the Hugging Face hub (and its latent upsampler and
    stage-2 LoRA), at the revisions the preset pins."""
    preset = _preset(preset_name)
    try:
        from huggingface_hub import hf_hub_download, snapshot_download
    except ImportError:
        raise _fail(
            "huggingface_hub is missing; install the gpu extra: pip install 'reelforge[gpu]'"
        ) from None
    target = str(to) if to is not None else None
    try:
        path = snapshot_download(preset.hub_id, revision=preset.revision, local_dir=target)
        if preset.upsampler_hub_id:
            # Into the same folder: the engine looks for <checkpoint>/latent_upsampler first.
            snapshot_download(
                preset.upsampler_hub_id,
                revision=preset.upsampler_revision,
                local_dir=target,
                allow_patterns=["latent_upsampler/*"],
            )
        if preset.stage2_lora is not None:
            # Also into the same folder: the engine looks for <checkpoint>/<file name> first.
            hf_hub_download(
                preset.stage2_lora.repo_id,
                preset.stage2_lora.filename,
                revision=preset.stage2_lora.revision,
                local_dir=target,
            )
    except Exception as exc:  # every hub or network failure gets the same advice
        raise _fail(
            f"could not download {preset.hub_id}: {type(exc).__name__}: {exc}. Without internet "
            f"access, pull on a connected machine, copy the folder here and set "
            f"engine_options.model_paths.{preset.name} to it"
        ) from None
    _out().print(f"{preset.name}: {path}")
    if to is not None:
        _out().print(f'set engine_options.model_paths = {{ {preset.name} = "{to}" }}')


@models_app.command()
def plan(
    preset_names_: Annotated[
        list[str] | None,
        typer.Option("--preset", help="Plan these presets (repeatable); default: the configured."),
    ] = None,
    device_memory: Annotated[
        str | None,
        typer.Option(help="Memory to plan against, e.g. 80GiB; default: this GPU's free memory."),
    ] = None,
    share: Annotated[
        bool, typer.Option("--share/--no-share", help="Count shared components once.")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Show the memory the presets need (weights, largest job) and whether it fits; no weights
    are read and no GPU is needed. Exit code 1 when it does not fit."""
    from reelforge.engines.diffusion.sizes import parse_size

    options = _options(config)
    presets = [_preset(name) for name in preset_names_] if preset_names_ else None
    try:
        available = parse_size(device_memory) if device_memory else None
    except ValueError as exc:
        raise _fail(f"--device-memory: {exc}", 2) from None
    try:
        from reelforge.engines.diffusion.loading import require_gpu_extra

        require_gpu_extra()
        the_plan, where = _plan(options, presets, available, share, device_memory)
    except EngineLoadError as exc:
        raise _fail(str(exc)) from None
    _print_plan(the_plan, where)
    if not the_plan.fits:
        raise _fail(the_plan.refusal())


def _plan(
    options: DiffusersOptions,
    presets: list[Preset] | None,
    available: int | None,
    share: bool,
    label: str | None,
) -> tuple[MemoryPlan, str]:
    from reelforge.engines.diffusion.loading import resolve_device
    from reelforge.engines.diffusion.plan import available_memory, plan_for

    if available is not None:
        the_plan = plan_for(options, available, presets=presets, share=share, device="the device")
        return the_plan, f"{label} given"
    device = resolve_device(options.device)
    free = available_memory(options, device)
    where = f"free on {device}" if free is not None else "no GPU here: pass --device-memory"
    return plan_for(options, free, presets=presets, share=share, device=str(device)), where


def _print_plan(the_plan: MemoryPlan, where: str) -> None:
    from reelforge.engines.diffusion.sizes import gib

    table = Table("component", "used by", "class", "parameters", "dtype", "memory", "config")
    for component in the_plan.components:
        table.add_row(
            component.name,
            ", ".join(component.presets),
            component.class_name,
            f"{component.parameters / 1e9:.2f} B",
            component.dtype,
            gib(component.bytes),
            component.source,
        )
    _out().print(table)
    out = _out()
    offload = "" if the_plan.cpu_offload == "none" else f" (cpu_offload = {the_plan.cpu_offload})"
    out.print(f"weights on the device{offload}: {gib(the_plan.weights_bytes)}")
    for preset in the_plan.presets:
        out.print(
            f"largest job for {preset.preset} (12 s at 1280x720, {preset.tokens} video tokens "
            f"per pass): {gib(preset.activation_bytes)}"
        )
    if the_plan.load_bytes > the_plan.weights_bytes + the_plan.activation_bytes:
        out.print(f"load peak (weights as read, before fp8): {gib(the_plan.load_bytes)}")
    out.print(f"margin (CUDA workspaces, allocator): {gib(the_plan.margin_bytes)}")
    available = the_plan.available_bytes
    have = gib(available) if available is not None else "unknown"
    verdict = "fits" if the_plan.fits else "does NOT fit"
    if available is None:
        verdict = "fit unknown"
    out.print(f"total: {gib(the_plan.total_bytes)}; available: {have} ({where}): {verdict}")
    for note in the_plan.notes:
        out.print(f"note: {note}")


@models_app.command()
def verify(
    target: Annotated[
        str, typer.Argument(metavar="DIR_OR_PRESET", help="A checkpoint folder or a preset name.")
    ],
    config: ConfigOption = None,
) -> None:
    """Load a checkpoint through the engine and run one tiny job; print OK or what failed."""
    from reelforge.engines.diffusion.verify import (
        preset_for_directory,
        verify_checkpoint,
        verify_options,
    )

    options = _options(config)
    directory = None if target in PRESETS else Path(target).expanduser()
    try:
        preset = PRESETS[target] if directory is None else preset_for_directory(directory)
        verify_checkpoint(verify_options(preset, options, directory), _out().print)
    except (ReelForgeError, AssertionError) as exc:
        raise _fail(f"FAILED: {exc}") from None
    _out().print(f"OK: {target} loads and generates through the diffusers engine")


@models_app.command("make-tiny")
def make_tiny(
    family: Annotated[str, typer.Argument(help="ltx2 or wan (or a preset name).")],
    directory: Annotated[Path, typer.Argument(help="Where to save the tiny checkpoint.")],
) -> None:
    """Save a tiny, randomly initialised checkpoint of the real pipeline classes (offline)."""
    from reelforge.engines.diffusion.loading import require_gpu_extra
    from reelforge.engines.diffusion.tiny import save_tiny_pipeline

    kind = PRESETS[family].family if family in PRESETS else family
    if kind not in ("ltx2", "wan"):
        raise _fail(f"unknown model family {family!r}; use ltx2 or wan", 2)
    try:
        require_gpu_extra()
    except EngineLoadError as exc:
        raise _fail(str(exc)) from None
    save_tiny_pipeline(kind, directory)
    _out().print(f"tiny {kind} checkpoint saved to {directory} (random weights: output is noise)")
