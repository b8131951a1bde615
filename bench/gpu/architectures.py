"""Full-size LTX-2 and Wan2.2-TI2V-5B pipelines with random weights, built in code on a device.

Speed does not depend on weight values, so a pipeline of the real architecture built directly on
the GPU in bfloat16 times like the released model, with no download. The configurations below are
transcribed from the released checkpoints' ``config.json`` files (Lightricks/LTX-2 and
Wan-AI/Wan2.2-TI2V-5B-Diffusers); where diffusers' constructor defaults already equal the released
configuration (LTX-2's VAEs, vocoder, connectors, latent upsampler) the defaults are used.
Tokenizers are the tiny offline ones: prompts are padded to the same ``max_sequence_length``, so
text-encoder cost is unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from reelforge.engines.diffusion.tiny import (
    build_tiny_pipeline,
    import_any,
    tiny_gemma_tokenizer,
    tiny_t5_tokenizer,
)

LTX2_TRANSFORMER: dict[str, Any] = {
    "in_channels": 128,
    "out_channels": 128,
    "patch_size": 1,
    "patch_size_t": 1,
    "num_attention_heads": 32,
    "attention_head_dim": 128,
    "cross_attention_dim": 4096,
    "audio_in_channels": 128,
    "audio_out_channels": 128,
    "audio_num_attention_heads": 32,
    "audio_attention_head_dim": 64,
    "audio_cross_attention_dim": 2048,
    "num_layers": 48,
    "caption_channels": 3840,
    "qk_norm": "rms_norm_across_heads",
    "rope_type": "split",
    "rope_double_precision": True,
}
GEMMA3_12B_TEXT: dict[str, Any] = {
    "hidden_size": 3840,
    "intermediate_size": 15360,
    "num_hidden_layers": 48,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 256,
    "vocab_size": 262208,
    "max_position_embeddings": 131072,
    "sliding_window": 1024,
}
SIGLIP_SO400M: dict[str, Any] = {
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "image_size": 896,
    "patch_size": 14,
}
WAN22_5B_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 24,
    "attention_head_dim": 128,
    "in_channels": 48,
    "out_channels": 48,
    "text_dim": 4096,
    "freq_dim": 256,
    "ffn_dim": 14336,
    "num_layers": 30,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}
WAN22_VAE: dict[str, Any] = {
    "base_dim": 160,
    "decoder_base_dim": 256,
    "z_dim": 48,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "is_residual": True,
    "in_channels": 12,
    "out_channels": 12,
    "patch_size": 2,
    "scale_factor_spatial": 16,
    "scale_factor_temporal": 4,
    "temperal_downsample": [False, True, True],
    "latents_mean": [0.0] * 48,
    "latents_std": [1.0] * 48,
}
UMT5_XXL: dict[str, Any] = {
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "vocab_size": 256384,
    "relative_attention_num_buckets": 32,
    "feed_forward_proj": "gated-gelu",
}


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


def build_pipeline(family: str, device: torch.device, dtype: torch.dtype, tiny: bool) -> Any:
    """(text-to-video pipeline, latent upsampler pipeline or None) for ``family``."""
    if tiny:
        pipeline = build_tiny_pipeline(family).to(device)
        upsampler = _tiny_upsampler(pipeline) if family == "ltx2" else None
        return pipeline, upsampler
    # Schedulers keep float32 sigmas on the host: build them outside the bf16 device context.
    diffusers = import_any("diffusers")
    if family == "ltx2":
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler()
        with building_on(device, dtype):
            return _full_ltx2(scheduler)
    scheduler = diffusers.UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
    )
    with building_on(device, dtype):
        return _full_wan(scheduler), None


def _tiny_upsampler(pipeline: Any) -> Any:
    ltx2 = import_any("diffusers.pipelines.ltx2")
    model = ltx2.LTX2LatentUpsamplerModel(
        in_channels=4,
        mid_channels=32,
        num_blocks_per_stage=1,
        dims=3,
        spatial_upsample=True,
        temporal_upsample=False,
    )
    return ltx2.LTX2LatentUpsamplePipeline(vae=pipeline.vae, latent_upsampler=model)


def _full_ltx2(scheduler: Any) -> tuple[Any, Any]:
    diffusers = import_any("diffusers")
    transformers = import_any("transformers")
    ltx2 = import_any("diffusers.pipelines.ltx2")
    config = transformers.Gemma3Config(
        text_config=GEMMA3_12B_TEXT, vision_config=SIGLIP_SO400M, mm_tokens_per_image=256
    )
    text_encoder = transformers.Gemma3ForConditionalGeneration(config).eval()
    vae = diffusers.AutoencoderKLLTX2Video()
    pipeline = diffusers.LTX2Pipeline(
        scheduler=scheduler,
        vae=vae,
        audio_vae=diffusers.AutoencoderKLLTX2Audio(),
        text_encoder=text_encoder,
        tokenizer=tiny_gemma_tokenizer(),
        connectors=ltx2.LTX2TextConnectors(rope_type="split"),
        transformer=diffusers.LTX2VideoTransformer3DModel(**LTX2_TRANSFORMER),
        vocoder=ltx2.LTX2Vocoder(),
    )
    upsampler = ltx2.LTX2LatentUpsamplePipeline(
        vae=vae, latent_upsampler=ltx2.LTX2LatentUpsamplerModel()
    )
    return pipeline, upsampler


def _full_wan(scheduler: Any) -> Any:
    diffusers = import_any("diffusers")
    transformers = import_any("transformers")
    text_encoder = transformers.UMT5EncoderModel(transformers.UMT5Config(**UMT5_XXL)).eval()
    return diffusers.WanPipeline(
        tokenizer=tiny_t5_tokenizer(),
        text_encoder=text_encoder,
        vae=diffusers.AutoencoderKLWan(**WAN22_VAE),
        scheduler=scheduler,
        transformer=diffusers.WanTransformer3DModel(**WAN22_5B_TRANSFORMER),
        expand_timesteps=True,
    )
