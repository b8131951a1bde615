"""Pipeline runners: one per model family, each an explicit sequence of numbered steps.

A runner turns a plan (legal size, frame count, frame rate) plus prompt, seed and optional first
image into raw frames and audio at the generation size; the engine fits them to the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from reelforge.engines.diffusion.geometry import GenerationPlan, fit_image, to_uint8
from reelforge.engines.diffusion.loading import LoadedModel
from reelforge.engines.diffusion.presets import STAGE_2_STEPS, Preset
from reelforge.engines.diffusion.progress import ProgressTracker, Stage

if TYPE_CHECKING:
    import torch

HALF_RESOLUTION_WEIGHT = 0.25
# STG perturbs this block on the 48-block LTX-2 transformer (diffusers' default).
LTX2_STG_BLOCK = 28


@dataclass(slots=True)
class RawOutput:
    """Frames (F, H, W, 3) uint8 at the generation size; audio (C, N) or None if silent."""

    frames: npt.NDArray[np.uint8]
    audio: npt.NDArray[np.float32] | None
    sample_rate: int | None


@dataclass(frozen=True, slots=True)
class RunRequest:
    preset: Preset
    steps: int
    plan: GenerationPlan
    prompt: str
    seed: int
    image: Image.Image | None


def uses_two_stages(model: LoadedModel, preset: Preset) -> bool:
    return preset.distilled and model.upsampler is not None


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
            Stage("denoise-1", request.steps, HALF_RESOLUTION_WEIGHT),
            Stage("denoise-2", STAGE_2_STEPS),
        ]
    return [Stage("denoise", request.steps)]


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


def _ltx2_guidance(model: LoadedModel, preset: Preset) -> dict[str, Any]:
    """Distilled checkpoints run without any guidance; the full model uses CFG + STG + modality."""
    if preset.distilled:
        return {
            "guidance_scale": 1.0,
            "stg_scale": 0.0,
            "modality_scale": 1.0,
            "guidance_rescale": 0.0,
            "audio_guidance_scale": 1.0,
            "audio_stg_scale": 0.0,
            "audio_modality_scale": 1.0,
            "audio_guidance_rescale": 0.0,
        }
    from diffusers.pipelines.ltx2.utils import DEFAULT_NEGATIVE_PROMPT

    pipeline: Any = model.text_to_video
    layers = int(pipeline.transformer.config.num_layers)
    return {
        "guidance_scale": preset.guidance_scale,
        "negative_prompt": DEFAULT_NEGATIVE_PROMPT,
        "spatio_temporal_guidance_blocks": [min(LTX2_STG_BLOCK, layers - 1)],
    }


def _ltx2_schedule(preset: Preset, steps: int) -> dict[str, Any]:
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

    if preset.distilled and steps == len(DISTILLED_SIGMA_VALUES):
        return {"sigmas": list(DISTILLED_SIGMA_VALUES), "num_inference_steps": steps}
    return {"num_inference_steps": steps}


def _ltx2_pipeline(model: LoadedModel, image: Image.Image | None) -> Any:
    pipeline = model.image_to_video if image is not None else model.text_to_video
    model.prepare(pipeline)
    return pipeline


def _ltx2_common(model: LoadedModel, request: RunRequest) -> dict[str, Any]:
    return {
        "prompt": request.prompt,
        "num_frames": request.plan.num_frames,
        "frame_rate": request.plan.frame_rate,
        "callback_on_step_end_tensor_inputs": [],
        "return_dict": False,
        **_ltx2_guidance(model, request.preset),
    }


def _run_ltx2_single(
    model: LoadedModel, request: RunRequest, tracker: ProgressTracker, generator: torch.Generator
) -> RawOutput:
    plan = request.plan
    # 1. choose the view (text- or image-to-video) and re-arm offload hooks
    pipeline = _ltx2_pipeline(model, request.image)
    image_kwargs = {"image": request.image} if request.image is not None else {}
    # 2. denoise and decode in one call
    video, audio = pipeline(
        **_ltx2_common(model, request),
        **_ltx2_schedule(request.preset, request.steps),
        **image_kwargs,
        width=plan.width,
        height=plan.height,
        generator=generator,
        output_type="np",
        callback_on_step_end=tracker.callback("denoise"),
    )
    # 3. to host memory
    return _ltx2_output(pipeline, video, audio)


def _run_ltx2_two_stage(
    model: LoadedModel, request: RunRequest, tracker: ProgressTracker, generator: torch.Generator
) -> RawOutput:
    from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES

    plan = request.plan
    half = (plan.width // 2, plan.height // 2)
    pipeline = _ltx2_pipeline(model, request.image)
    common = _ltx2_common(model, request)
    # 1. stage 1: the distilled schedule at half resolution, kept as latents
    stage1_image = {} if request.image is None else {"image": fit_image(request.image, *half)}
    video_latents, audio_latents = pipeline(
        **common,
        **_ltx2_schedule(request.preset, request.steps),
        **stage1_image,
        width=half[0],
        height=half[1],
        generator=generator,
        output_type="latent",
        callback_on_step_end=tracker.callback("denoise-1"),
    )
    # 2. upsample the video latents 2x in space
    upsampler: Any = model.upsampler
    model.prepare(upsampler)
    (upsampled,) = upsampler(latents=video_latents, output_type="latent", return_dict=False)
    del video_latents
    # 3. stage 2: three refining steps at full resolution, then decode video and audio
    stage2_image = {} if request.image is None else {"image": request.image}
    model.prepare(pipeline)
    video, audio = pipeline(
        **common,
        **stage2_image,
        latents=upsampled,
        audio_latents=audio_latents,
        sigmas=list(STAGE_2_DISTILLED_SIGMA_VALUES),
        num_inference_steps=STAGE_2_STEPS,
        noise_scale=STAGE_2_DISTILLED_SIGMA_VALUES[0],
        width=plan.width,
        height=plan.height,
        generator=generator,
        output_type="np",
        callback_on_step_end=tracker.callback("denoise-2"),
    )
    return _ltx2_output(pipeline, video, audio)


def _ltx2_output(pipeline: Any, video: Any, audio: Any) -> RawOutput:
    frames = to_uint8(np.asarray(video[0]))
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
        negative_prompt="",
        **image_kwargs,
        width=plan.width,
        height=plan.height,
        num_frames=plan.num_frames,
        num_inference_steps=request.steps,
        guidance_scale=request.preset.guidance_scale,
        generator=generator,
        output_type="np",
        return_dict=False,
        callback_on_step_end=tracker.callback("denoise"),
        callback_on_step_end_tensor_inputs=[],
    )
    # 3. silent model: the engine adds the soundtrack
    return RawOutput(to_uint8(np.asarray(video[0])), None, None)
