"""ltx2-full's two-stage recipe: guided half-size stage, upsample, 3 steps with the stage-2 LoRA.

The tiny LTX-2 checkpoint carries a random rank-2 LoRA over its transformer blocks, saved in
Lightricks' original key format (``diffusion_model.``-prefixed) under the released LoRA's file
name, where ``reelforge models pull ltx2-full --to`` puts the real one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reelforge.core.config import Settings
from reelforge.domain.errors import EngineLoadError, JobCancelled
from reelforge.engines.diffusers_engine import DiffusersEngine, create_engine
from reelforge.engines.diffusion.options import parse_options
from reelforge.engines.diffusion.presets import LTX2_DISTILLED_LORA
from tests.engines.diffusion.conftest import (
    RecordingControl,
    generate,
    noise_image,
    spec,
    tiny_options,
)
from tests.engines.diffusion.gpu_extra import require_gpu_extra

require_gpu_extra()

from reelforge.engines.diffusion.plan import plan_for  # noqa: E402  (needs torch)

FULL = "ltx2-full"
SIZES = {"gen_width": 64, "gen_height": 64}


def full_options(directory: Path, **overrides: Any) -> dict[str, Any]:
    return tiny_options(FULL, directory, two_stage=True, **SIZES) | overrides


@pytest.fixture(scope="module")
def full_engine(tiny_checkpoints: dict[str, Path]) -> DiffusersEngine:
    options = full_options(tiny_checkpoints["ltx2"])
    engine = create_engine(Settings(engine="diffusers", engine_options=options))
    engine.load()
    return engine


def lora_active(transformer: Any) -> bool:
    """True when any peft LoRA layer of ``transformer`` would add its adapter's output."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [module for module in transformer.modules() if isinstance(module, BaseTunerLayer)]
    assert layers, "the stage-2 LoRA was not attached to the transformer"
    return any(not layer.disable_adapters and layer.active_adapters for layer in layers)


@contextmanager
def transformer_calls(transformer: Any) -> Iterator[list[tuple[int, int, bool]]]:
    """(latent height, latent width, LoRA active) for every transformer forward."""
    calls: list[tuple[int, int, bool]] = []

    def record(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        calls.append((int(kwargs["height"]), int(kwargs["width"]), lora_active(transformer)))

    handle = transformer.register_forward_pre_hook(record, with_kwargs=True)
    try:
        yield calls
    finally:
        handle.remove()


def test_stage_1_at_half_size_without_the_lora_stage_2_at_full_size_with_it(
    full_engine: DiffusersEngine,
) -> None:
    transformer = full_engine._models[FULL].text_to_video.transformer
    assert not lora_active(transformer)  # loaded disabled
    control = RecordingControl()
    with transformer_calls(transformer) as calls:
        clip, frames = generate(full_engine, spec(seed=6), noise_image(6), control=control)

    stages = [stage for _, stage in control.progress]
    assert stages.count("denoise-1") == 2 and stages.count("denoise-2") == 3
    sizes = sorted({(height, width) for height, width, _ in calls})
    assert len(sizes) == 2
    half, full = sizes
    assert (2 * half[0], 2 * half[1]) == full
    stage1 = [active for height, width, active in calls if (height, width) == half]
    stage2 = [active for height, width, active in calls if (height, width) == full]
    assert len(stage1) >= 2 and not any(stage1)  # guided: one or more passes per step
    assert len(stage2) == 3 and all(stage2)  # unguided: one pass per distilled sigma
    assert calls[-3:] == [(*full, True)] * 3  # stage 2 runs last
    assert not lora_active(transformer)  # disabled again for the next job
    assert clip.metadata["generated_size"] == "64x64"
    assert len(frames) == 96 and frames[5].shape == (720, 1280, 3)
    assert clip.audio is not None and clip.audio.shape == (2, 4 * clip.sample_rate)


def test_an_error_in_stage_2_still_disables_the_lora(full_engine: DiffusersEngine) -> None:
    transformer = full_engine._models[FULL].text_to_video.transformer
    # Reports 1-2 are stage 1's steps; the 3rd is stage 2's first.
    control = RecordingControl(stop_at=3, stop_with=JobCancelled("cancelled by owner"))
    with transformer_calls(transformer) as calls, pytest.raises(JobCancelled):
        generate(full_engine, spec(seed=6), control=control)
    assert calls[-1][2]  # it was active when stage 2 stopped
    assert not lora_active(transformer)


def test_a_missing_lora_fails_the_load_with_the_fixes(
    tiny_checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    directory = shutil.copytree(tiny_checkpoints["ltx2"], tmp_path / "ltx2")
    (directory / LTX2_DISTILLED_LORA.filename).unlink()
    engine = create_engine(Settings(engine="diffusers", engine_options=full_options(directory)))
    with pytest.raises(EngineLoadError) as refused:
        engine.load()
    message = str(refused.value)
    needs = f"ltx2-full runs two stages and needs its stage-2 LoRA {LTX2_DISTILLED_LORA.filename}"
    assert needs in message
    for fix in (
        "reelforge models pull ltx2-full",
        "stage2_lora_paths.ltx2-full",
        "two_stage = false",
    ):
        assert fix in message

    # two_stage = false: the old single full-size stage, no LoRA needed.
    single = create_engine(
        Settings(engine="diffusers", engine_options=full_options(directory, two_stage=False))
    )
    single.load()
    assert single._models[FULL].stage2_adapter is None
    control = RecordingControl()
    generate(single, spec(seed=2), control=control)
    assert {stage for _, stage in control.progress if stage.startswith("denoise")} == {"denoise"}


def test_a_configured_lora_path_that_is_no_file_is_named(
    tiny_checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    options = full_options(
        tiny_checkpoints["ltx2"], stage2_lora_paths={FULL: str(tmp_path / "absent.safetensors")}
    )
    engine = create_engine(Settings(engine="diffusers", engine_options=options))
    with pytest.raises(EngineLoadError, match=r"stage2_lora_paths\.ltx2-full = .* is not a file"):
        engine.load()


def test_the_plan_counts_the_lora_loading_attaches(full_engine: DiffusersEngine) -> None:
    transformer = full_engine._models[FULL].text_to_video.transformer
    attached = sum(
        parameter.numel() for name, parameter in transformer.named_parameters() if "lora_" in name
    )
    directory = Path(full_engine._models[FULL].source)
    plan = plan_for(parse_options(full_options(directory)))
    (lora,) = [component for component in plan.components if component.name == "stage2_lora"]
    assert lora.source == "local" and lora.presets == (FULL,)
    assert lora.parameters == attached > 0
    assert lora.bytes == 4 * attached  # float32 on CPU
    without = plan_for(parse_options(full_options(directory, two_stage=False)))
    assert "stage2_lora" not in {component.name for component in without.components}


def test_the_plan_before_download_assumes_rank_384_on_the_block_linears() -> None:
    from torch import nn

    from reelforge.engines.diffusion.plan import meta_module, published_config

    options = parse_options({"preset": FULL, "models": {}, "device": "cuda"})
    plan = plan_for(options)
    (lora,) = [component for component in plan.components if component.name == "stage2_lora"]
    assert lora.source == "published"
    config = published_config("diffusers/LTX-2.3-Diffusers", "transformer")
    transformer = meta_module("diffusers", "LTX2VideoTransformer3DModel", config)
    expected = sum(
        384 * (layer.in_features + layer.out_features)
        for name, layer in transformer.named_modules()
        if name.startswith("transformer_blocks.") and isinstance(layer, nn.Linear)
    )
    assert lora.parameters == expected
    assert lora.bytes == 2 * expected  # bfloat16, unfused next to the base weights


def test_prompt_and_negative_prompt_are_encoded_once_for_both_stages(
    full_engine: DiffusersEngine, tiny_checkpoints: dict[str, Path]
) -> None:
    import numpy as np

    options = full_options(tiny_checkpoints["ltx2"], reuse_prompt_embeds=False)
    encoding_twice = create_engine(Settings(engine="diffusers", engine_options=options))
    encoding_twice.load()
    runs = []
    for engine in (full_engine, encoding_twice):
        calls: list[int] = []
        text_encoder = engine._models[FULL].text_to_video.text_encoder
        handle = text_encoder.register_forward_hook(lambda *_, seen=calls: seen.append(1))
        try:
            clip, frames = generate(engine, spec(seed=9))
        finally:
            handle.remove()
        runs.append((len(calls), clip, frames))
    (once, clip, frames), (twice, clip_again, frames_again) = runs
    assert once == 2  # the prompt and the negative prompt, for stage 1's CFG
    assert twice == 3  # both again in stage 1, the prompt again in stage 2
    assert all(np.array_equal(a, b) for a, b in zip(frames, frames_again, strict=True))
    assert np.array_equal(clip.audio, clip_again.audio)


def test_a_lora_path_for_an_unknown_preset_is_a_config_error() -> None:
    from reelforge.domain.errors import ConfigError

    with pytest.raises(ConfigError, match=r"stage2_lora_paths: unknown preset 'ltx3'"):
        parse_options({"stage2_lora_paths": {"ltx3": "/models/lora.safetensors"}})
