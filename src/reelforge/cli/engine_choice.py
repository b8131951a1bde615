"""``--engine`` / ``--preset`` for ``serve`` and ``worker``, and the memory plan checked at start.

``reelforge serve --engine diffusers --preset ltx2`` serves one model with no config file, the
way users of other diffusion servers expect; ``--preset`` routes every model name to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reelforge.cli.common import fail
from reelforge.domain.errors import ConfigError, EngineLoadError

if TYPE_CHECKING:
    from reelforge.core.config import Settings

EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine", help="Engine to run: testcard, diffusers, upstream (default: configured)."
    ),
]
PresetOption = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="With --engine diffusers: serve this preset (ltx2, ltx2-full, wan22-5b) for every "
        "model name.",
    ),
]


def with_preset(settings: Settings, preset: str | None) -> Settings:
    """``settings`` with the diffusers engine serving ``preset`` alone (None: unchanged)."""
    if preset is None:
        return settings
    if settings.engine != "diffusers":
        fail(f"--preset picks a diffusers model; add --engine diffusers (not {settings.engine})")
    from reelforge.engines.diffusion.options import parse_options

    values = {**settings.engine_options, "preset": preset, "models": {}}
    try:
        parse_options(values)
    except ConfigError as exc:
        fail(str(exc))
    return settings.model_copy(update={"engine_options": values})


def refuse_unfitting_plan(settings: Settings) -> None:
    """Exit with the plan's one line when the diffusers presets cannot fit this machine's GPU.

    Anything that keeps the plan from being made (no gpu extra, no GPU, an unknown checkpoint)
    is left to the engine's load, which reports it in the log and ``/readyz``.
    """
    if settings.engine != "diffusers":
        return
    try:
        from reelforge.engines.diffusion.loading import require_gpu_extra, resolve_device
        from reelforge.engines.diffusion.options import parse_options
        from reelforge.engines.diffusion.plan import available_memory, plan_for

        require_gpu_extra()
        options = parse_options(settings.engine_options)
        device = resolve_device(options.device)
        plan = plan_for(options, available_memory(options, device), device=str(device))
    except (ImportError, ConfigError, EngineLoadError):
        return
    if not plan.fits:
        fail(plan.refusal())
