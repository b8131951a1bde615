"""Tiny, randomly initialised pipelines of the real classes, built offline in code.

They have the same on-disk layout as the real checkpoints (``model_index.json`` plus one folder
per component), so ``save_pretrained`` followed by the engine's own loading path exercises
exactly what a real model directory would. Tests, ``reelforge models make-tiny`` and
``reelforge models verify`` use them; nothing here downloads anything.

Every size below is chosen to be as small as the architecture allows while keeping the
invariants the pipelines rely on (learned by building them): the Gemma hidden size equals the
connectors' heads x head dim, and the vocoder's upsample factors multiply to the audio VAE's
mel hop length so the waveform lasts as long as the video.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from reelforge.engines.diffusion.presets import LTX2_DISTILLED_LORA

TINY_PRESETS = ("ltx2", "wan22-5b")

# Enough distinct tokens for short prompts; byte tokens make every character encodable.
_BASE_WORDS = ("a", "the", "cat", "dog", "robot", "sea", "walks", "on", "beach", "sunset")


def import_any(name: str) -> Any:
    """diffusers/transformers handles typed ``Any``: their constructors are untyped."""
    return importlib.import_module(name)


def build_tiny_pipeline(family: str, seed: int = 0) -> Any:
    """Return the tiny text-to-video pipeline for ``family`` ("ltx2" or "wan")."""
    import torch

    torch.manual_seed(seed)
    if family == "ltx2":
        return _tiny_ltx2()
    if family == "wan":
        return _tiny_wan()
    raise ValueError(f"no tiny pipeline for model family {family!r}; use 'ltx2' or 'wan'")


def save_tiny_pipeline(family: str, directory: Path, seed: int = 0) -> Path:
    """Build the tiny pipeline for ``family`` and ``save_pretrained`` it to ``directory``."""
    pipeline = build_tiny_pipeline(family, seed=seed)
    directory.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(str(directory))
    if family == "ltx2":
        _save_tiny_latent_upsampler(directory / "latent_upsampler")
        # Where `models pull --to` puts ltx2-full's stage-2 LoRA: next to the components.
        save_tiny_stage2_lora(directory / LTX2_DISTILLED_LORA.filename, seed=seed)
    return directory


# --- LTX-2 -------------------------------------------------------------------------------


def tiny_gemma_tokenizer() -> Any:
    GemmaTokenizer = import_any("transformers").GemmaTokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    pieces = specials + [f"<0x{value:02X}>" for value in range(256)]
    pieces += ["▁" + word for word in _BASE_WORDS]
    vocab = {piece: index for index, piece in enumerate(pieces)}
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[])
    tokenizer.padding_side = "left"
    return tokenizer


def _tiny_gemma3(vocab_size: int) -> Any:
    transformers = import_any("transformers")

    text_config = {
        "hidden_size": _tiny_gemma3_hidden_size(),
        "intermediate_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 16,
        "vocab_size": vocab_size,
        "max_position_embeddings": 256,
        "sliding_window": 64,
    }
    vision_config = {
        "hidden_size": 16,
        "intermediate_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 16,
        "patch_size": 8,
    }
    config = transformers.Gemma3Config(
        text_config=text_config, vision_config=vision_config, mm_tokens_per_image=4
    )
    return transformers.Gemma3ForConditionalGeneration(config).eval()


# Component configurations (the Gemma side lives in _tiny_gemma3).
TINY_LTX2_TRANSFORMER: dict[str, Any] = {
    "in_channels": 4,
    "out_channels": 4,
    "patch_size": 1,
    "patch_size_t": 1,
    "num_attention_heads": 2,
    "attention_head_dim": 8,
    "cross_attention_dim": 16,
    "audio_in_channels": 4,
    "audio_out_channels": 4,
    "audio_num_attention_heads": 2,
    "audio_attention_head_dim": 4,
    "audio_cross_attention_dim": 8,
    "num_layers": 2,
    "qk_norm": "rms_norm_across_heads",
    "rope_double_precision": False,
    "rope_type": "split",
}
# 4 heads x 8 dims = 32 = the Gemma hidden size, as the connectors require.
TINY_LTX2_CONNECTORS: dict[str, Any] = {
    "video_connector_num_attention_heads": 4,
    "video_connector_attention_head_dim": 8,
    "video_connector_num_layers": 1,
    "video_connector_num_learnable_registers": None,
    "audio_connector_num_attention_heads": 4,
    "audio_connector_attention_head_dim": 8,
    "audio_connector_num_layers": 1,
    "audio_connector_num_learnable_registers": None,
    "connector_rope_base_seq_len": 32,
    "rope_theta": 10000.0,
    "rope_double_precision": False,
    "causal_temporal_positioning": False,
    "rope_type": "split",
}
TINY_LTX2_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": (8,),
    "decoder_block_out_channels": (8,),
    "layers_per_block": (1,),
    "decoder_layers_per_block": (1, 1),
    "spatio_temporal_scaling": (True,),
    "decoder_spatio_temporal_scaling": (True,),
    "decoder_inject_noise": (False, False),
    "downsample_type": ("spatial",),
    "upsample_residual": (False,),
    "upsample_factor": (1,),
    "timestep_conditioning": False,
    "patch_size": 1,
    "patch_size_t": 1,
    "encoder_causal": True,
    "decoder_causal": False,
}
TINY_LTX2_AUDIO_VAE: dict[str, Any] = {
    "base_channels": 4,
    "output_channels": 2,
    "ch_mult": (1,),
    "num_res_blocks": 1,
    "attn_resolutions": None,
    "in_channels": 2,
    "resolution": 32,
    "latent_channels": 2,
    "norm_type": "pixel",
    "causality_axis": "height",
    "dropout": 0.0,
    "mid_block_add_attention": False,
    "sample_rate": 16000,
    "mel_hop_length": 160,
    "is_causal": True,
    "mel_bins": 8,
}
# 8 * 5 * 4 = 160 = mel_hop_length: one mel frame becomes one hop of samples.
TINY_LTX2_VOCODER: dict[str, Any] = {
    "in_channels": 2 * 8,
    "hidden_channels": 16,
    "out_channels": 2,
    "upsample_kernel_sizes": [16, 10, 8],
    "upsample_factors": [8, 5, 4],
    "resnet_kernel_sizes": [3],
    "resnet_dilations": [[1, 3, 5]],
    "leaky_relu_negative_slope": 0.1,
    "output_sampling_rate": 16000,
}


def _tiny_ltx2() -> Any:
    diffusers = import_any("diffusers")
    ltx2 = import_any("diffusers.pipelines.ltx2")
    tokenizer = tiny_gemma_tokenizer()
    text_encoder = _tiny_gemma3(vocab_size=len(tokenizer))
    text_config = text_encoder.config.text_config
    connectors = ltx2.LTX2TextConnectors(
        caption_channels=text_config.hidden_size,
        text_proj_in_factor=text_config.num_hidden_layers + 1,
        **TINY_LTX2_CONNECTORS,
    )
    transformer = diffusers.LTX2VideoTransformer3DModel(
        caption_channels=text_config.hidden_size, **TINY_LTX2_TRANSFORMER
    )
    return diffusers.LTX2Pipeline(
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
        vae=diffusers.AutoencoderKLLTX2Video(**TINY_LTX2_VAE),
        audio_vae=diffusers.AutoencoderKLLTX2Audio(**TINY_LTX2_AUDIO_VAE),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        connectors=connectors,
        transformer=transformer,
        vocoder=ltx2.LTX2Vocoder(**TINY_LTX2_VOCODER),
    )


def _save_tiny_latent_upsampler(directory: Path) -> None:
    upsampler = import_any("diffusers.pipelines.ltx2").LTX2LatentUpsamplerModel(
        in_channels=4,
        mid_channels=32,
        num_blocks_per_stage=1,
        dims=3,
        spatial_upsample=True,
        temporal_upsample=False,
    )
    upsampler.save_pretrained(str(directory))


# Rank of the tiny stage-2 LoRA; every linear of the transformer blocks is adapted, like the
# assumption the memory plan makes for the real distilled LoRA.
TINY_LORA_RANK = 2


def save_tiny_stage2_lora(path: Path, seed: int = 0) -> Path:
    """A random LoRA for the tiny LTX-2 transformer, saved in Lightricks' original format.

    The original format is diffusers' own key names behind a ``diffusion_model.`` prefix for
    the layers a LoRA adapts (attention projections and feed-forwards keep their names), which
    ``LTX2LoraLoaderMixin`` detects and converts exactly as it does the released LoRA. Both
    LoRA matrices are random (peft's default zero ``B`` would make the adapter a no-op).
    """
    import torch

    peft = import_any("peft")
    safetensors_torch = import_any("safetensors.torch")
    torch.manual_seed(seed)
    transformer = import_any("diffusers").LTX2VideoTransformer3DModel(
        caption_channels=_tiny_gemma3_hidden_size(), **TINY_LTX2_TRANSFORMER
    )
    targets = [
        name
        for name, module in transformer.named_modules()
        if name.startswith("transformer_blocks.") and isinstance(module, torch.nn.Linear)
    ]
    config = peft.LoraConfig(
        r=TINY_LORA_RANK,
        lora_alpha=TINY_LORA_RANK,
        target_modules=targets,
        init_lora_weights=False,
    )
    transformer.add_adapter(config)
    state = peft.get_peft_model_state_dict(transformer)
    original = {f"diffusion_model.{key}": value.contiguous() for key, value in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors_torch.save_file(original, str(path))
    return path


def _tiny_gemma3_hidden_size() -> int:
    return 32  # _tiny_gemma3's text hidden size, which the transformer's captions arrive in


# --- Wan2.2-TI2V-5B ----------------------------------------------------------------------


def tiny_t5_tokenizer() -> Any:
    T5Tokenizer = import_any("transformers").T5Tokenizer

    specials = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    words = [("▁" + word, -float(index)) for index, word in enumerate(_BASE_WORDS)]
    letters = [(chr(code), -20.0) for code in range(ord("a"), ord("z") + 1)]
    return T5Tokenizer(vocab=specials + words + letters + [("▁", -5.0)], extra_ids=0)


TINY_UMT5: dict[str, Any] = {
    "d_model": 32,
    "d_kv": 8,
    "d_ff": 32,
    "num_layers": 1,
    "num_heads": 4,
    "relative_attention_num_buckets": 8,
}
TINY_WAN_VAE: dict[str, Any] = {
    "base_dim": 3,
    "z_dim": 48,
    "in_channels": 12,
    "out_channels": 12,
    "is_residual": True,
    "patch_size": 2,
    "latents_mean": [0.0] * 48,
    "latents_std": [1.0] * 48,
    "dim_mult": [1, 1, 1, 1],
    "num_res_blocks": 1,
    "scale_factor_spatial": 16,
    "scale_factor_temporal": 4,
    "temperal_downsample": [False, True, True],
}
TINY_WAN_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 2,
    "attention_head_dim": 12,
    "in_channels": 48,
    "out_channels": 48,
    "text_dim": 32,
    "freq_dim": 256,
    "ffn_dim": 32,
    "num_layers": 2,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "rope_max_seq_len": 32,
}


def _tiny_wan() -> Any:
    diffusers = import_any("diffusers")
    transformers = import_any("transformers")
    tokenizer = tiny_t5_tokenizer()
    umt5 = transformers.UMT5Config(vocab_size=len(tokenizer), **TINY_UMT5)
    return diffusers.WanPipeline(
        tokenizer=tokenizer,
        text_encoder=transformers.UMT5EncoderModel(umt5).eval(),
        vae=diffusers.AutoencoderKLWan(**TINY_WAN_VAE),
        scheduler=diffusers.UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
        ),
        transformer=diffusers.WanTransformer3DModel(**TINY_WAN_TRANSFORMER),
        expand_timesteps=True,
    )
