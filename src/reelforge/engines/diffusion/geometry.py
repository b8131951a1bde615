"""Contract arithmetic: legal generation sizes and frame counts, and fitting results to the spec.

Pure numpy/Pillow so it is testable without torch. The models only accept some sizes and frame
counts (LTX-2: multiples of 32 and 8k+1 frames; Wan2.2: multiples of 32 and 4k+1), while the
contract wants exactly 1280x720 and 24*s frames. We generate at the nearest legal shape that
covers the target and cut back: center-crop (resizing only when the generation is smaller or of
another aspect), trim the frames, trim or pad the audio.

Image-to-video runs the same mapping backwards so the framing never jumps: the input is fitted
to the target exactly as delivered frame 0 is, then placed in the generation canvas where the
delivery crop will take it back from (padded around, not scaled), so frame 1 shows the scene
at the scale and position frame 0 did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from reelforge.domain.limits import FPS
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import Audio, Frame

SILENT_SAMPLE_RATE = 48000
AUDIO_CHANNELS = 2


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """What the pipeline is asked for, and what is delivered from it."""

    width: int
    height: int
    num_frames: int
    frame_rate: float
    frame_stride: int
    target_width: int
    target_height: int
    target_frames: int
    seconds: int


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def generation_size(
    target: tuple[int, int], multiple: int, landscape_override: tuple[int, int] | None = None
) -> tuple[int, int]:
    """(width, height) to generate for ``target``: the smallest legal size that covers it.

    ``landscape_override`` (a configured size, given for landscape) is mirrored for portrait.
    """
    width, height = target
    if landscape_override is not None:
        long_side, short_side = max(landscape_override), min(landscape_override)
        width, height = (long_side, short_side) if width >= height else (short_side, long_side)
        if width % multiple or height % multiple:
            raise ValueError(
                f"generation size {width}x{height} is not a multiple of {multiple}; "
                f"set gen_width/gen_height to multiples of {multiple}"
            )
        return width, height
    return round_up(width, multiple), round_up(height, multiple)


def frames_to_generate(target_frames: int, stride: int, temporal_ratio: int) -> int:
    """Smallest ``k * temporal_ratio + 1`` that yields ``target_frames / stride`` frames.

    With stride 1 and ratio 8 (or 4) this is ``24*s + 1``: 97 / 193 / 289.
    """
    needed = -(-target_frames // stride)
    return round_up(max(needed - 1, 1), temporal_ratio) + 1


def frames_needed(plan: GenerationPlan) -> int:
    """Generated frames that delivery shows; the rest of the k*ratio+1 tail is dropped."""
    return -(-plan.target_frames // plan.frame_stride)


def plan_generation(
    spec: GenerationSpec,
    multiple: int,
    temporal_ratio: int,
    frame_stride: int = 1,
    landscape_override: tuple[int, int] | None = None,
) -> GenerationPlan:
    width, height = generation_size((spec.width, spec.height), multiple, landscape_override)
    return GenerationPlan(
        width=width,
        height=height,
        num_frames=frames_to_generate(spec.frame_count, frame_stride, temporal_ratio),
        frame_rate=FPS / frame_stride,
        frame_stride=frame_stride,
        target_width=spec.width,
        target_height=spec.height,
        target_frames=spec.frame_count,
        seconds=spec.seconds,
    )


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels; fractional when a resize maps between sizes."""

    left: float
    top: float
    width: float
    height: float


def visible_box(outer: tuple[int, int], inner: tuple[int, int]) -> Box:
    """The centered region of an ``outer``-sized picture that delivery shows at ``inner`` size.

    It has the aspect of ``inner`` and is as large as ``outer`` allows (cover scaling). Offsets
    are floored when the picture is shown at scale 1, so cropping and padding agree to the pixel.
    """
    (outer_width, outer_height), (width, height) = outer, inner
    scale = max(width / outer_width, height / outer_height)
    box_width, box_height = width / scale, height / scale
    left, top = (outer_width - box_width) / 2, (outer_height - box_height) / 2
    if scale == 1.0:
        left, top = float(int(left)), float(int(top))
    return Box(left, top, box_width, box_height)


def fit_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale ``image`` to cover ``width`` x ``height``, center-cropping the overflow.

    A generation that is already large enough (1280x736 for 1280x720) is only cropped; other
    sizes are resampled straight from the centered source box to the target size.
    """
    box = visible_box(image.size, (width, height))
    if (box.width, box.height) == (width, height):  # scale 1: whole-pixel offsets
        left, top = int(box.left), int(box.top)
        return image.crop((left, top, left + width, top + height))
    bounds = (box.left, box.top, box.left + box.width, box.top + box.height)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=bounds)


def condition_image(image: Image.Image, plan: GenerationPlan) -> Image.Image:
    """The image-to-video conditioning frame at the generation size, framed like frame 0.

    The input is fitted to the target exactly as delivered frame 0 is, then put where the
    delivery crop takes frame 0 back from; the margin is mirrored (reflect padding) so the model
    sees plausible picture there rather than bars it might animate.
    """
    framed = fit_image(image.convert("RGB"), plan.target_width, plan.target_height)
    box = visible_box((plan.width, plan.height), (plan.target_width, plan.target_height))
    left, top = round(box.left), round(box.top)
    width, height = round(box.width), round(box.height)
    if (width, height) != framed.size:  # a generation smaller than the target (tests, previews)
        framed = framed.resize((width, height), Image.Resampling.LANCZOS)
    pixels = np.asarray(framed, dtype=np.uint8)
    padding = ((top, plan.height - height - top), (left, plan.width - width - left), (0, 0))
    return Image.fromarray(_pad(pixels, padding))


def _pad(pixels: Frame, padding: tuple[tuple[int, int], ...]) -> Frame:
    """Mirror the picture into the margin; repeat the edge where the margin is wider."""
    fits_mirror = all(
        before < size and after < size
        for (before, after), size in zip(padding, pixels.shape, strict=True)
    )
    result: Frame = np.pad(pixels, padding, mode="reflect" if fits_mirror else "edge")
    return result


def fit_frame(frame: Frame, width: int, height: int) -> Frame:
    if frame.shape[0] == height and frame.shape[1] == width:
        return frame
    fitted = fit_image(Image.fromarray(frame), width, height)
    result: Frame = np.asarray(fitted, dtype=np.uint8)
    return result


def to_uint8(frames: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Pipeline output in [0, 1] (any float dtype) -> uint8."""
    finite = np.nan_to_num(np.asarray(frames, dtype=np.float32), nan=0.0)
    scaled = np.clip(finite, 0.0, 1.0) * 255.0
    result: npt.NDArray[np.uint8] = np.rint(scaled).astype(np.uint8)
    return result


def deliver_frames(
    generated: npt.NDArray[np.uint8], plan: GenerationPlan, first_frame: Frame | None = None
) -> Iterator[Frame]:
    """Yield exactly ``plan.target_frames`` frames at the target size, lazily.

    Generated frame ``i // stride`` is shown for delivered frame ``i``; the extra (8k+1-th)
    frames at the end are dropped. ``first_frame`` (already at the target size) replaces
    frame 0 when the operator asked for the input image itself.
    """
    fitted_index, fitted = -1, None
    for index in range(plan.target_frames):
        if index == 0 and first_frame is not None:
            yield first_frame
            continue
        source_index = min(index // plan.frame_stride, len(generated) - 1)
        if source_index != fitted_index or fitted is None:
            # A strided frame is shown `stride` times: fit it once.
            fitted_index = source_index
            fitted = fit_frame(generated[source_index], plan.target_width, plan.target_height)
        yield fitted


def fit_audio(audio: npt.NDArray[np.floating], sample_rate: int, seconds: float) -> Audio:
    """(channels, samples) float audio -> exactly ``seconds`` of stereo float32 in [-1, 1]."""
    samples = np.nan_to_num(np.asarray(audio, dtype=np.float32), nan=0.0)
    if samples.ndim == 1:
        samples = samples[np.newaxis, :]
    if samples.shape[0] == 1:
        samples = np.repeat(samples, AUDIO_CHANNELS, axis=0)
    samples = samples[:AUDIO_CHANNELS]
    wanted = round(seconds * sample_rate)
    if samples.shape[1] >= wanted:
        samples = samples[:, :wanted]
    else:
        samples = np.pad(samples, ((0, 0), (0, wanted - samples.shape[1])))
    return np.ascontiguousarray(np.clip(samples, -1.0, 1.0), dtype=np.float32)


def silence(seconds: float, sample_rate: int = SILENT_SAMPLE_RATE) -> Audio:
    return np.zeros((AUDIO_CHANNELS, round(seconds * sample_rate)), dtype=np.float32)
