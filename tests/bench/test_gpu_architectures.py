"""``bench.gpu.architectures``: the full-size LTX-2.3 / Wan2.2 builds match the memory plan.

Built on the meta device (shapes only, no memory), from the same released configs the engine's
memory plan reads; the two must count the same parameters, or the acceptance run would compare
its measured memory with a plan of a different model.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engines.diffusion.gpu_extra import require_gpu_extra

require_gpu_extra()

import torch  # noqa: E402
from bench.gpu.architectures import Builder, parameter_counts  # noqa: E402

from reelforge.engines.diffusion.options import parse_options  # noqa: E402
from reelforge.engines.diffusion.plan import plan_for  # noqa: E402
from reelforge.engines.diffusion.presets import PRESETS  # noqa: E402

ALL_PRESETS = {"sora-2": "ltx2", "sora-2-pro": "ltx2-full"}


def meta_builder() -> Builder:
    return Builder(torch.device("meta"), torch.bfloat16)


@pytest.mark.slow
def test_the_ltx2_build_is_ltx_2_3_with_its_bwe_vocoder_and_gated_connectors() -> None:
    pipeline, upsampler = meta_builder().pipeline(PRESETS["ltx2"])

    assert type(pipeline.vocoder).__name__ == "LTX2VocoderWithBWE"
    assert pipeline.vocoder.config.output_sampling_rate == 48000
    connectors: Any = pipeline.connectors.config
    assert (connectors.video_connector_num_layers, connectors.audio_connector_num_layers) == (8, 8)
    assert connectors.per_modality_projections and connectors.video_gated_attn
    assert pipeline.transformer.config.gated_attn and pipeline.transformer.config.perturbed_attn
    assert upsampler is not None and upsampler.vae is pipeline.vae
    counts = parameter_counts(pipeline, upsampler)
    assert 18e9 < counts["transformer"] < 20e9 and 12e9 < counts["text_encoder"] < 12.5e9


@pytest.mark.slow
def test_two_ltx_presets_share_what_the_plan_shares_and_count_what_it_counts() -> None:
    builder = meta_builder()
    distilled, _ = builder.pipeline(PRESETS["ltx2"])
    full, _ = builder.pipeline(PRESETS["ltx2-full"])

    for shared in ("text_encoder", "vae", "audio_vae", "vocoder"):
        assert getattr(full, shared) is getattr(distilled, shared), shared
    for own in ("transformer", "connectors"):
        assert getattr(full, own) is not getattr(distilled, own), own
    plan = plan_for(parse_options({"device": "cuda", "models": ALL_PRESETS}), None)
    built = sum(
        sum(parameter.numel() for parameter in module.parameters())
        for module in builder.shared.values()
    )
    # The builder makes modules, not ltx2-full's stage-2 LoRA (the bench runs it in one stage).
    modules = [component for component in plan.components if component.name != "stage2_lora"]
    assert sorted(builder.built) == sorted(component.weights for component in modules)
    assert built == sum(component.parameters for component in modules)


def test_tiny_builds_share_modules_by_the_same_published_names() -> None:
    builder = Builder(torch.device("cpu"), torch.float32, tiny=True)
    distilled, upsampler = builder.pipeline(PRESETS["ltx2"])
    full, none = builder.pipeline(PRESETS["ltx2-full"])

    assert full.text_encoder is distilled.text_encoder and full.vae is distilled.vae
    assert full.transformer is not distilled.transformer
    assert upsampler is not None and none is None
    assert len(builder.built) == len(set(builder.built))
