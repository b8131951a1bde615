"""The memory plan: full-size released configs on the meta device, tiny local checkpoints, and
the one-line refusal at start (engine load, ``reelforge worker``, ``reelforge models plan``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from reelforge.cli.app import app as reelforge_app
from reelforge.cli.models import models_app
from reelforge.core.config import Settings
from reelforge.domain.errors import ConfigError, EngineLoadError
from reelforge.engines.diffusers_engine import create_engine
from reelforge.engines.diffusion.options import parse_options
from reelforge.engines.diffusion.sizes import GIB, parse_size
from tests.engines.diffusion.gpu_extra import require_gpu_extra

require_gpu_extra()

from reelforge.engines.diffusion.plan import plan_for  # noqa: E402  (needs torch)

BOTH_CHECKPOINTS = {"sora-2": "ltx2", "sora-2-pro": "ltx2-full"}
H100 = parse_size("80GiB")
H200 = parse_size("141GB")
runner = CliRunner()


def gpu_options(**values: object) -> dict[str, object]:
    """Options as on a GPU (bfloat16 weights); no checkpoint of these ids is on this machine."""
    return {"device": "cuda", **values}


def test_default_configuration_fits_one_80_gb_gpu() -> None:
    plan = plan_for(parse_options(gpu_options()), H100)
    assert plan.fits, plan.summary()
    assert [preset.preset for preset in plan.presets] == ["ltx2"]
    assert {component.source for component in plan.components} == {"published"}
    # LTX-2.3 with its Gemma 3 12B text encoder and the upsampler: ~36 B parameters.
    assert 35e9 < plan.parameters < 37e9
    names = {component.name for component in plan.components}
    assert names == {
        "transformer",
        "connectors",
        "text_encoder",
        "vae",
        "audio_vae",
        "vocoder",
        "latent_upsampler",
    }
    assert 2 * plan.parameters * 0.99 < plan.weights_bytes < 2 * plan.parameters * 1.01
    # An H100's free memory after the CUDA context is ~79 GiB: the default leaves room.
    assert plan.total_bytes < 79 * GIB
    assert plan.activation_bytes > 2 * GIB  # a 12 s 1280x720 job is not free


def test_two_checkpoints_share_the_family_components() -> None:
    options = parse_options(gpu_options(models=BOTH_CHECKPOINTS))
    shared = plan_for(options, H200)
    unshared = plan_for(options, H200, share=False)
    by_name: dict[str, list[tuple[str, ...]]] = {}
    for component in shared.components:
        by_name.setdefault(component.name, []).append(component.presets)
    for name in ("text_encoder", "vae", "audio_vae", "vocoder"):
        assert by_name[name] == [("ltx2", "ltx2-full")]
    assert by_name["transformer"] == [("ltx2",), ("ltx2-full",)]
    once = sum(c.bytes for c in shared.components if c.name in ("text_encoder", "vae"))
    assert unshared.weights_bytes - shared.weights_bytes > once
    assert shared.fits and not unshared.fits  # on an H200: only shared
    assert not plan_for(options, H100).fits


def test_unfitting_configuration_is_refused_at_load_with_one_line() -> None:
    options = gpu_options(
        models=BOTH_CHECKPOINTS, share_components=False, memory_budget="80GiB", device="cpu"
    )
    engine = create_engine(Settings(engine="diffusers", engine_options=options))
    with pytest.raises(EngineLoadError) as refused:
        engine.load()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("the memory plan does not fit: ltx2 + ltx2-full unshared need")
    assert "80.0 GiB available" in message
    for fix in ("fewer presets", "cpu_offload = 'model'", "fp8 = true", "more memory"):
        assert fix in message


def test_levers_shrink_the_plan() -> None:
    base = plan_for(parse_options(gpu_options()), H100)
    fp8 = plan_for(parse_options(gpu_options(fp8=True)), H100)
    offload = plan_for(parse_options(gpu_options(cpu_offload="model")), H100)
    transformer = next(c for c in base.components if c.name == "transformer")
    fp8_transformer = next(c for c in fp8.components if c.name == "transformer")
    assert fp8_transformer.bytes < 0.6 * transformer.bytes
    assert offload.weights_bytes == max(c.bytes for c in base.components) == transformer.bytes
    assert fp8.total_bytes < base.total_bytes and offload.total_bytes < base.total_bytes
    # torchao quantizes a loaded module: the load itself holds the bf16 transformer first.
    assert fp8.load_bytes == base.weights_bytes
    assert fp8.total_bytes == fp8.load_bytes + fp8.margin_bytes


@pytest.mark.parametrize(
    ("preset", "pipeline_class"), [("wan22-5b", "WanPipeline"), ("ltx2", "LTX2Pipeline")]
)
def test_plan_of_a_local_checkpoint_counts_what_loading_allocates(
    tiny_checkpoints: dict[str, Path], preset: str, pipeline_class: str
) -> None:
    """Meta-device counting against the real modules of the same checkpoint, loaded."""
    import diffusers
    import torch

    directory = tiny_checkpoints[preset]
    options = parse_options(
        {"preset": preset, "models": {}, "model_paths": {preset: str(directory)}}
        | {"device": "cpu", "two_stage": False}
    )
    plan = plan_for(options)
    assert {component.source for component in plan.components} == {"local"}
    assert plan.fits and plan.available_bytes is None  # CPU: nothing to compare with
    pipeline = getattr(diffusers, pipeline_class).from_pretrained(
        str(directory), dtype=torch.float32
    )
    modules = {name for name, value in pipeline.components.items() if hasattr(value, "parameters")}
    assert {component.name for component in plan.components} == modules
    for component in plan.components:
        module = getattr(pipeline, component.name)
        tensors = [*module.parameters(), *module.buffers()]
        assert component.bytes == sum(t.numel() * t.element_size() for t in tensors)
        assert component.parameters == sum(p.numel() for p in module.parameters())


def test_sizes_and_budget_option() -> None:
    assert parse_size("80GiB") == 80 * GIB
    assert parse_size("141 GB") == 141 * 10**9
    assert parse_size("512") == 512
    with pytest.raises(ValueError, match="not a memory size"):
        parse_size("lots")
    with pytest.raises(ConfigError, match="memory_budget: 'eighty' is not a memory size"):
        parse_options({"memory_budget": "eighty"})


def test_models_plan_prints_the_plan_without_a_gpu() -> None:
    app = typer.Typer()
    app.add_typer(models_app, name="models")
    env = {"COLUMNS": "200"}
    fits = runner.invoke(app, ["models", "plan", "--device-memory", "80GiB"], env=env)
    assert fits.exit_code == 0, fits.output
    assert "text_encoder" in fits.output and "Gemma3ForConditionalGeneration" in fits.output
    assert "available: 80.0 GiB (80GiB given): fits" in fits.output
    args = ["models", "plan", "--preset", "ltx2", "--preset", "ltx2-full", "--no-share"]
    refused = runner.invoke(app, [*args, "--device-memory", "80GiB"], env=env)
    assert refused.exit_code == 1
    assert "does NOT fit" in refused.output
    assert "error: the memory plan does not fit: ltx2 + ltx2-full unshared" in refused.output


def test_worker_refuses_to_start_when_the_plan_cannot_fit(tmp_path: Path) -> None:
    config = tmp_path / "reelforge.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nengine = "diffusers"\n[engine_options]\n'
        'memory_budget = "80GiB"\nshare_components = false\n'
        'models = { "sora-2" = "ltx2", "sora-2-pro" = "ltx2-full" }\n',
        encoding="utf-8",
    )
    result = runner.invoke(reelforge_app, ["worker", "--config", str(config)])
    assert result.exit_code == 2
    assert "the memory plan does not fit: ltx2 + ltx2-full unshared" in result.output
    assert not (tmp_path / "data").exists()  # refused before the database was opened


def test_preset_flag_serves_one_preset_for_every_model_name(tmp_path: Path) -> None:
    from reelforge.cli.engine_choice import with_preset

    settings = Settings(engine="diffusers", engine_options={"dtype": "bfloat16"})
    chosen = parse_options(with_preset(settings, "wan22-5b").engine_options)
    assert [preset.name for preset in chosen.presets_in_use()] == ["wan22-5b"]
    assert chosen.preset_for_model("sora-2-pro").name == "wan22-5b"
    assert chosen.dtype == "bfloat16"  # the rest of the configured options stay
    config = tmp_path / "reelforge.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    args = ["worker", "--config", str(config), "--preset", "ltx2"]
    wrong_engine = runner.invoke(reelforge_app, args)
    assert wrong_engine.exit_code == 2
    assert "--preset picks a diffusers model; add --engine diffusers" in wrong_engine.output
    unknown = runner.invoke(reelforge_app, [*args[:3], "--engine", "diffusers", "--preset", "x"])
    assert unknown.exit_code == 2 and "unknown preset 'x'" in unknown.output
