"""Pipeline runners: one per model family, each an explicit sequence of numbered steps.

A runner turns a plan (legal size, frame count, frame rate) plus prompt, seed and optional first
image into raw frames and audio; the engine fits them to the contract. Frames leave the device
as uint8 already cut to the delivered frames and crop (``frames_on_device``): a quarter of the
float32 bytes, converted by the accelerator instead of one host thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from reelforge.engines.diffusion.geometry import (
    GenerationPlan,
    fit_image,
    frames_needed,
    to_uint8,
    visible_box,
)
from reelforge.engines.diffusion.loading import LoadedModel
from reelforge.engines.diffusion.presets import STAGE_2_STEPS, Preset
from reelforge.engines.diffusion.progress import ProgressTracker, Stage

if TYPE_CHECKING:
    import torch

HALF_RESOLUTION_WEIGHT = 0.25
# The full model's guided steps run three transformer passes (conditional, unconditional, STG).
GUIDED_PASSES = 3
# STG perturbs this block on the 48-block LTX-2 transformer (diffusers' default).
LTX2_STG_BLOCK = 28
# Frames converted to uint8 per device batch: bounds the float32 copy to ~0.7 GB at 1280x768.
CONVERT_CHUNK_FRAMES = 16
# Wan's own negative prompt (sample_neg_prompt in Wan2.1/2.2's shared config), which its CFG
# was tuned with: oversaturation, overexposure, static frames, blur, subtitles, low quality,
# JPEG artifacts, malformed hands and faces, fused fingers, cluttered background, extra limbs,
# crowds, walking backwards. Kept verbatim, full-width commas included: it is the text the
# model's text encoder saw in training.
WAN_NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"  # noqa: RUF001
    "低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，"  # noqa: RUF001
    "毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"  # noqa: RUF001
)


@dataclass(slots=True)
class RawOutput:
    """Frames (F, H, W, 3) uint8 at the generation size; audio (C, N) or None if silent."""

    frames: npt.NDArray[np.uint8]
    audio: npt.NDArray[np.float32] | None
    sample_rate: int | None


@dataclass(frozen=True, slots=True)
class RunRequest:
    """One run. ``image`` is the conditioning frame at the generation size (``condition_image``)."""

    preset: Preset
    steps: int
    plan: GenerationPlan
    prompt: str
    seed: int
    image: Image.Image | None
    frames_on_device: bool = True
    reuse_prompt_embeds: bool = True


def uses_two_stages(model: LoadedModel, preset: Preset) -> bool:
    """The preset's two-stage recipe, when the model was loaded with what it needs."""
    needs_lora = preset.stage2_lora is not None
    return (
        preset.two_stage_recipe
        and model.upsampler is not None
        and (model.stage2_adapter is not None or not needs_lora)
    )


def size_multiple(model: LoadedModel, preset: Preset) -> int:
    """Two-stage runs halve the size for stage 1, so both halves must stay legal."""
    return preset.size_multiple * (2 if uses_two_stages(model, preset) else 1)


def temporal_ratio(model: LoadedModel) -> int:
    pipeline: Any = model.text_to_video
    if model.family == "ltx2":
        return int(pipeline.vae_temporal_compression_ratio)
    return int(pipeline.vae_scale_factor_temporal)


def plan_stages(model: LoadedModel, request: RunRequest) -> list[Stage]:
    if uses_two_stages(model, request.preset):
        return [
            Stage("denoise-1", request.steps, _stage1_weight(request.preset)),
            Stage("denoise-2", STAGE_2_STEPS),
        ]
    return [Stage("denoise", request.steps)]


def _stage1_weight(preset: Preset) -> float:
    passes = 1 if preset.distilled else GUIDED_PASSES
    return HALF_RESOLUTION_WEIGHT * passes


def run(model: LoadedModel, request: RunRequest, tracker: ProgressTracker) -> RawOutput:
    """Run the recipe for ``request.preset`` on ``model``; cancellation raises out of it."""
    import torch

    # CPU generator: the same seed gives the same noise on every device and offload mode.
    generator = torch.Generator("cpu").manual_seed(request.seed)
    tracker.start()
    if model.family == "wan":
        return _run_wan(model, request, tracker, generator)
    if uses_two_stages(model, request.preset):
        return _run_ltx2_two_stage(model, request, tracker, generator)
    return _run_ltx2_single(model, request, tracker, generator)


# --- LTX-2 -------------------------------------------------------------------------------


_NO_GUIDANCE: dict[str, Any] = {
    "guidance_scale": 1.0,
    "stg_scale": 0.0,
    "modality_scale": 1.0,
    "guidance_rescale": 0.0,
    "audio_guidance_scale": 1.0,
    "audio_stg_scale": 0.0,
    "audio_modality_scale": 1.0,
    "audio_guidance_rescale": 0.0,
}


def _ltx2_guidance(model: LoadedModel, preset: Preset) -> dict[str, Any]:
    """Distilled checkpoints run without any guidance; the full model uses CFG + STG + modality.

    The negative prompt goes with the prompt (``_ltx2_text``), as text or as embeddings.
    """
    if preset.distilled:
        return dict(_NO_GUIDANCE)
    pipeline: Any = model.text_to_video
    layers = int(pipeline.transformer.config.num_layers)
    return {
        "guidance_scale": preset.guidance_scale,
        "spatio_temporal_guidance_blocks": [min(LTX2_STG_BLOCK, layers - 1)],
    }


def _ltx2_text(request: RunRequest) -> dict[str, Any]:
    """The prompt as text, with the full model's negative prompt (its CFG was tuned with it)."""
    if request.preset.distilled:
        return {"prompt": request.prompt}
    from diffusers.pipelines.ltx2.utils import DEFAULT_NEGATIVE_PROMPT

    return {"prompt": request.prompt, "negative_prompt": DEFAULT_NEGATIVE_PROMPT}


def _ltx2_schedule(preset: Preset, steps: int) -> dict[str, Any]:
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

    if preset.distilled and steps == len(DISTILLED_SIGMA_VALUES):
        return {"sigmas": list(DISTILLED_SIGMA_VALUES), "num_inference_steps": steps}
    return {"num_inference_steps": steps}


def _ltx2_pipeline(model: LoadedModel, image: Image.Image | None) -> Any:
    pipeline = model.image_to_video if image is not None else model.text_to_video
    model.prepare(pipeline)
    return pipeline


def _ltx2_common(request: RunRequest) -> dict[str, Any]:
    return {
        "num_frames": request.plan.num_frames,
        "frame_rate": request.plan.frame_rate,
        "callback_on_step_end_tensor_inputs": [],
        "return_dict": False,
    }


def _ltx2_prompts_once(pipeline: Any, request: RunRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prompt arguments of (stage 1, stage 2), Gemma's encoding made once for both.

    Stage 2 always runs without guidance (distilled, or the full model with the distilled
    LoRA); the full model's stage 1 also gets the negative prompt's encoding for its CFG.
    """
    if not request.reuse_prompt_embeds:
        return _ltx2_text(request), {"prompt": request.prompt}
    guided = not request.preset.distilled
    text = _ltx2_text(request)
    embeds, mask, negative, negative_mask = pipeline.encode_prompt(
        prompt=text["prompt"],
        negative_prompt=text.get("negative_prompt"),
        do_classifier_free_guidance=guided,
        device=pipeline._execution_device,
    )
    stage2 = {"prompt_embeds": embeds, "prompt_attention_mask": mask}
    if not guided:
        return stage2, stage2
    negatives = {
        "negative_prompt_embeds": negative,
        "negative_prompt_attention_mask": negative_mask,
    }
    return {**stage2, **negatives}, stage2


@contextmanager
def _stage2_adapter(model: LoadedModel) -> Iterator[None]:
    """The stage-2 LoRA (if the model has one) enabled for the block, disabled after, always."""
    if model.stage2_adapter is None:
        yield
        return
    pipeline: Any = model.text_to_video  # both views share the adapted modules
    pipeline.enable_lora()
    try:
        yield
    finally:
        pipeline.disable_lora()


def _run_ltx2_single(
    model: LoadedModel, request: RunRequest, tracker: ProgressTracker, generator: torch.Generator
) -> RawOutput:
    plan = request.plan
    # 1. choose the view (text- or image-to-video) and re-arm offload hooks
    pipeline = _ltx2_pipeline(model, request.image)
    image_kwargs = {"image": request.image} if request.image is not None else {}
    # 2. denoise and decode in one call
    video, audio = pipeline(
        **_ltx2_text(request),
        **_ltx2_common(request),
        **_ltx2_guidance(model, request.preset),
        **_ltx2_schedule(request.preset, request.steps),
        **image_kwargs,
        width=plan.width,
        height=plan.height,
        generator=generator,
        output_type=_output_type(request),
        callback_on_step_end=tracker.callback("denoise"),
    )
    # 3. to host memory
    return _ltx2_output(pipeline, video, audio, request)


def _run_ltx2_two_stage(
    model: LoadedModel, request: RunRequest, tracker: ProgressTracker, generator: torch.Generator
) -> RawOutput:
    from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES

    plan = request.plan
    half = (plan.width // 2, plan.height // 2)
    pipeline = _ltx2_pipeline(model, request.image)
    common = _ltx2_common(request)
    # 1. encode the prompt once for both stages
    prompt1, prompt2 = _ltx2_prompts_once(pipeline, request)
    # 2. stage 1: the preset's schedule and guidance at half resolution, kept as latents
    stage1_image = {} if request.image is None else {"image": fit_image(request.image, *half)}
    video_latents, audio_latents = pipeline(
        **prompt1,
        **common,
        **_ltx2_guidance(model, request.preset),
        **_ltx2_schedule(request.preset, request.steps),
        **stage1_image,
        width=half[0],
        height=half[1],
        generator=generator,
        output_type="latent",
        callback_on_step_end=tracker.callback("denoise-1"),
    )
    # 3. upsample the video latents 2x in space
    upsampler: Any = model.upsampler
    model.prepare(upsampler)
    (upsampled,) = upsampler(latents=video_latents, output_type="latent", return_dict=False)
    del video_latents
    # 4. image-to-video: frame 0 becomes the full-resolution encoding of the image; the
    #    pipeline keeps a given latent's frame 0 clean, so stage 2 refines around it
    model.prepare(pipeline)
    if request.image is not None:
        upsampled[:, :, :1] = _ltx2_encode_image(pipeline, request.image, generator)
    # 5. stage 2: three unguided refining steps at full resolution (the full model with the
    #    distilled LoRA, enabled for this call only), then decode video and audio
    with _stage2_adapter(model):
        video, audio = pipeline(
            **prompt2,
            **common,
            **_NO_GUIDANCE,
            latents=upsampled,
            audio_latents=audio_latents,
            sigmas=list(STAGE_2_DISTILLED_SIGMA_VALUES),
            num_inference_steps=STAGE_2_STEPS,
            noise_scale=STAGE_2_DISTILLED_SIGMA_VALUES[0],
            width=plan.width,
            height=plan.height,
            generator=generator,
            output_type=_output_type(request),
            callback_on_step_end=tracker.callback("denoise-2"),
        )
    return _ltx2_output(pipeline, video, audio, request)


def _ltx2_encode_image(pipeline: Any, image: Image.Image, generator: torch.Generator) -> Any:
    """The VAE latent of ``image`` at its own size, prepared as the pipeline prepares stage 1's.

    Same steps as ``LTX2ImageToVideoPipeline``: H.264 re-compression at the checkpoint's
    training CRF, [-1, 1] pixels, then the mode of the VAE posterior (un-normalized latents,
    which is what the upsampler returns).
    """
    from diffusers.pipelines.ltx2.pipeline_ltx2_image2video import retrieve_latents
    from diffusers.pipelines.ltx2.utils import (
        apply_image_conditioning_crf,
        resolve_default_image_crf,
    )

    crf = resolve_default_image_crf(pipeline.text_encoder)
    if crf:
        image = Image.fromarray(apply_image_conditioning_crf(np.asarray(image.convert("RGB")), crf))
    pixels = pipeline.video_processor.preprocess(image, height=image.height, width=image.width)
    pixels = pixels.to(device=pipeline._execution_device, dtype=pipeline.vae.dtype)
    return retrieve_latents(pipeline.vae.encode(pixels.unsqueeze(2)), generator, "argmax")


def _ltx2_output(pipeline: Any, video: Any, audio: Any, request: RunRequest) -> RawOutput:
    frames = _frames(video, request)
    samples = audio[0].float().cpu().numpy().astype(np.float32)
    return RawOutput(frames, samples, int(pipeline.vocoder.config.output_sampling_rate))


# --- Wan2.2 ------------------------------------------------------------------------------


def _run_wan(
    model: LoadedModel, request: RunRequest, tracker: ProgressTracker, generator: torch.Generator
) -> RawOutput:
    plan = request.plan
    # 1. choose the view and re-arm offload hooks
    pipeline: Any = model.image_to_video if request.image is not None else model.text_to_video
    model.prepare(pipeline)
    image_kwargs = {"image": request.image} if request.image is not None else {}
    # 2. denoise (two transformer passes per step with CFG) and decode
    (video,) = pipeline(
        prompt=request.prompt,
        negative_prompt=WAN_NEGATIVE_PROMPT,
        **image_kwargs,
        width=plan.width,
        height=plan.height,
        num_frames=plan.num_frames,
        num_inference_steps=request.steps,
        guidance_scale=request.preset.guidance_scale,
        generator=generator,
        output_type=_output_type(request),
        return_dict=False,
        callback_on_step_end=tracker.callback("denoise"),
        callback_on_step_end_tensor_inputs=[],
    )
    # 3. silent model: the engine adds the soundtrack
    return RawOutput(_frames(video, request), None, None)


# --- frames off the device -----------------------------------------------------------------


def _output_type(request: RunRequest) -> str:
    return "pt" if request.frames_on_device else "np"


def _frames(video: Any, request: RunRequest) -> npt.NDArray[np.uint8]:
    if request.frames_on_device:
        return frames_to_host(video[0], request.plan)
    return to_uint8(np.asarray(video[0]))


def frames_to_host(video: torch.Tensor, plan: GenerationPlan) -> npt.NDArray[np.uint8]:
    """(F, C, H, W) floats in [0, 1] on the device -> (F', H', W', 3) uint8 on the host.

    Only the frames delivery shows leave the device; when the generation covers the target at
    scale 1 (every real preset) they leave already cropped to it, so delivery has nothing left
    to do but stride. Conversion matches ``to_uint8`` (NaN -> 0, clip, round half to even).
    """
    import torch

    video = video[: frames_needed(plan)]
    target = (plan.target_width, plan.target_height)
    box = visible_box((plan.width, plan.height), target)
    if (box.width, box.height) == target:
        left, top = int(box.left), int(box.top)
        video = video[:, :, top : top + plan.target_height, left : left + plan.target_width]
    count, _, height, width = video.shape
    host = torch.empty((count, height, width, 3), dtype=torch.uint8)
    for start in range(0, count, CONVERT_CHUNK_FRAMES):
        chunk = video[start : start + CONVERT_CHUNK_FRAMES].float().nan_to_num(0.0)  # a copy
        pixels = chunk.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)
        host[start : start + len(chunk)].copy_(pixels.permute(0, 2, 3, 1))
    frames: npt.NDArray[np.uint8] = host.numpy()
    return frames
