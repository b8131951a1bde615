"""Image-to-video framing never jumps: the conditioning frame maps back onto frame 0 exactly.

A bright square (the marker) is drawn in the input. Delivered frame 0 shows it where the input
fitted to the contract size does; the generated frames are cut from the generation canvas by
the delivery crop. The conditioning image the model is given must therefore put the marker
where that crop brings it back to the same pixel (within 1 px).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import Frame
from reelforge.engines.diffusion.geometry import (
    GenerationPlan,
    condition_image,
    deliver_frames,
    fit_frame,
    fit_image,
    plan_generation,
    visible_box,
)

MARKER = (300, 200, 50)  # left, top, side in pixels of the 1280x720 input


def marker_image(width: int = 1280, height: int = 720) -> Frame:
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    left, top, side = (round(value * width / 1280) for value in MARKER)
    image[top : top + side, left : left + side] = 255
    return image


def marker_at(frame: Frame) -> tuple[float, float]:
    """Brightness-weighted centre of what stands out from the background."""
    luminance = frame.astype(np.float64).mean(axis=2)
    weight = np.clip(luminance - np.median(luminance) - 40.0, 0.0, None)
    rows, columns = np.indices(luminance.shape)
    total = weight.sum()
    assert total > 0, "the marker is not in the frame"
    return float((columns * weight).sum() / total), float((rows * weight).sum() / total)


def delivered_marker(canvas: Frame, plan: GenerationPlan) -> tuple[float, float]:
    """Where the engine's delivery puts a canvas pixel: frame 1's framing of the generation."""
    delivered = next(iter(deliver_frames(canvas[np.newaxis], plan)))
    return marker_at(delivered)


def plan_for(size: str, multiple: int, override: tuple[int, int] | None = None) -> GenerationPlan:
    spec = GenerationSpec.build("x", size=size, seconds=4, seed=1)
    return plan_generation(spec, multiple, 8, landscape_override=override)


@pytest.mark.parametrize(
    ("size", "multiple", "override"),
    [
        ("1280x720", 64, None),  # two-stage LTX-2: 1280x768, 24 px margins
        ("1280x720", 32, None),  # 1280x736
        ("720x1280", 32, None),  # portrait: 736x1280
        ("1280x720", 32, (64, 64)),  # a smaller canvas of another aspect (tests, previews)
        ("1280x720", 32, (1280, 704)),  # a configured size below the target
    ],
)
def test_conditioning_frame_lands_on_frame_zero(
    size: str, multiple: int, override: tuple[int, int] | None
) -> None:
    plan = plan_for(size, multiple, override)
    source = marker_image(plan.target_width, plan.target_height)
    frame_zero = fit_frame(source, plan.target_width, plan.target_height)

    canvas = np.asarray(condition_image(Image.fromarray(source), plan))

    assert canvas.shape == (plan.height, plan.width, 3)
    expected = marker_at(frame_zero)
    assert np.allclose(delivered_marker(canvas, plan), expected, atol=1.0)


def test_an_input_of_another_size_is_framed_like_frame_zero() -> None:
    plan = plan_for("1280x720", 64)
    source = marker_image(1920, 1080)
    frame_zero = fit_frame(source, 1280, 720)

    canvas = np.asarray(condition_image(Image.fromarray(source), plan))

    assert np.allclose(delivered_marker(canvas, plan), marker_at(frame_zero), atol=1.0)


def test_scaling_the_input_to_the_canvas_would_have_moved_the_marker() -> None:
    """The old conditioning (cover-scale to 1280x768) zoomed 6.7 %: the check above catches it."""
    plan = plan_for("1280x720", 64)
    source = marker_image()
    scaled = np.asarray(fit_image(Image.fromarray(source), plan.width, plan.height))

    shift = np.subtract(delivered_marker(scaled, plan), marker_at(source))

    assert np.abs(shift).max() > 10.0


def test_margins_mirror_the_picture_and_the_crop_removes_them_exactly() -> None:
    plan = plan_for("1280x720", 64)
    source = np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8)

    canvas = np.asarray(condition_image(Image.fromarray(source), plan))

    box = visible_box((plan.width, plan.height), (1280, 720))
    assert (box.left, box.top) == (0, 24)
    assert np.array_equal(canvas[24:744], source)
    assert np.array_equal(canvas[23], source[1]) and np.array_equal(canvas[744], source[-2])
    assert np.array_equal(next(iter(deliver_frames(canvas[np.newaxis], plan))), source)
