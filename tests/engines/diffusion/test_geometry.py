"""Contract arithmetic: legal sizes and frame counts, fitting frames and audio exactly."""

from __future__ import annotations

import numpy as np
import pytest

from reelforge.domain.specs import GenerationSpec
from reelforge.engines.diffusion.geometry import (
    deliver_frames,
    fit_audio,
    fit_frame,
    frames_to_generate,
    generation_size,
    plan_generation,
    silence,
)


@pytest.mark.parametrize(
    ("target", "multiple", "expected"),
    [
        ((1280, 720), 32, (1280, 736)),  # 720 is not legal for LTX-2 or Wan2.2-5B
        ((720, 1280), 32, (736, 1280)),
        ((1280, 720), 64, (1280, 768)),  # two-stage: 640x384 for stage 1
    ],
)
def test_generation_size_is_the_smallest_legal_cover(
    target: tuple[int, int], multiple: int, expected: tuple[int, int]
) -> None:
    assert generation_size(target, multiple) == expected


def test_configured_size_is_mirrored_for_portrait_and_checked() -> None:
    assert generation_size((720, 1280), 32, (64, 32)) == (32, 64)
    with pytest.raises(ValueError, match="multiple of 64"):
        generation_size((1280, 720), 64, (96, 32))


@pytest.mark.parametrize(
    ("frames", "stride", "ratio", "expected"),
    [
        (96, 1, 8, 97),
        (192, 1, 8, 193),
        (288, 1, 8, 289),
        (288, 1, 4, 289),
        (96, 8, 2, 13),
        (96, 24, 8, 9),
    ],
)
def test_frames_follow_the_k_ratio_plus_one_rule(
    frames: int, stride: int, ratio: int, expected: int
) -> None:
    assert frames_to_generate(frames, stride, ratio) == expected
    assert (expected - 1) % ratio == 0 and expected * stride >= frames


def test_delivery_trims_to_24_per_second_and_crops_to_size() -> None:
    spec = GenerationSpec.build("x", seconds=4, seed=1)
    plan = plan_generation(spec, 32, 8)
    assert (plan.width, plan.height, plan.num_frames, plan.frame_rate) == (1280, 736, 97, 24.0)
    generated = np.zeros((97, 736, 1280, 3), dtype=np.uint8)
    generated[:, 8:728] = 200  # the rows a center crop keeps
    frames = list(deliver_frames(generated, plan))
    assert len(frames) == 96
    assert {frame.shape for frame in frames} == {(720, 1280, 3)}
    assert all(int(frame.min()) == 200 for frame in frames)


def test_strided_frames_repeat_and_input_frame_leads() -> None:
    spec = GenerationSpec.build("x", seconds=4, seed=1)
    plan = plan_generation(spec, 32, 2, frame_stride=8, landscape_override=(32, 32))
    generated = np.stack([np.full((32, 32, 3), index, dtype=np.uint8) for index in range(13)])
    first = np.full((720, 1280, 3), 255, dtype=np.uint8)
    frames = list(deliver_frames(generated, plan, first))
    assert len(frames) == 96
    assert frames[0] is first
    assert [int(frames[index][0, 0, 0]) for index in (1, 7, 8, 95)] == [0, 0, 1, 11]


def test_fit_frame_upscales_by_cover_and_center_crop() -> None:
    square = np.zeros((32, 32, 3), dtype=np.uint8)
    square[:, :, 0] = np.arange(32)[:, np.newaxis] * 8  # a vertical ramp
    fitted = fit_frame(square, 1280, 720)
    assert fitted.shape == (720, 1280, 3)
    # Cover scaling keeps the middle 18 of 32 rows: the ramp starts well above 0.
    assert 40 < int(fitted[0, 640, 0]) < int(fitted[-1, 640, 0]) < 220


def test_audio_is_trimmed_padded_and_made_stereo() -> None:
    long = np.ones((2, 70000), dtype=np.float32) * 2.0
    assert fit_audio(long, 16000, 4).shape == (2, 64000)
    assert float(fit_audio(long, 16000, 4).max()) == 1.0
    short_mono = np.full((1, 1000), 0.5, dtype=np.float32)
    padded = fit_audio(short_mono, 1000, 4)
    assert padded.shape == (2, 4000)
    assert float(padded[:, :1000].min()) == 0.5 and not padded[:, 1000:].any()
    assert silence(8).shape == (2, 8 * 48000) and not silence(8).any()
