"""The framing check of ``test_framing`` through real (tiny) pipelines on CPU.

What the VAE encodes as the first frame is recorded on its way in; mapped back through the
engine's own delivery crop, its marker must sit where frame 0's does. The generation canvases
are chosen so one canvas pixel is at most 10 (stage 1 of two-stage: 20) delivered pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from reelforge.domain.errors import JobCancelled
from reelforge.engines.base import Frame
from reelforge.engines.diffusion.geometry import fit_frame
from tests.engines.diffusion.conftest import EngineFactory, RecordingControl, generate, spec
from tests.engines.diffusion.gpu_extra import require_gpu_extra
from tests.engines.diffusion.test_framing import marker_at, marker_image

require_gpu_extra()


@contextmanager
def recorded_encodes(engine: Any, preset: str) -> Iterator[list[Frame]]:
    """First frames the VAE encodes, as uint8 pictures (a spy: the real encode still runs)."""
    vae = engine._models[preset].text_to_video.vae
    encode = vae.encode
    pictures: list[Frame] = []

    def recording(pixels: Any, *args: Any, **kwargs: Any) -> Any:
        first = pixels[0, :, 0].detach().float().permute(1, 2, 0).cpu().numpy()
        pictures.append(np.rint(np.clip((first + 1.0) * 127.5, 0, 255)).astype(np.uint8))
        return encode(pixels, *args, **kwargs)

    vae.encode = recording
    try:
        yield pictures
    finally:
        del vae.encode


class StopAt(RecordingControl):
    """Cancels at the first step of ``stage``: every encode before it has happened."""

    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage = stage

    def step(self, done: float, total: float, stage: str = "") -> None:
        super().step(done, total, stage)
        if stage == self.stage:
            raise JobCancelled("seen enough")


def delivered(picture: Frame) -> tuple[float, float]:
    return marker_at(fit_frame(picture, 1280, 720))


def test_wan_conditions_on_frame_zero_framing(make_engine: EngineFactory) -> None:
    engine = make_engine("wan22-5b", gen_width=128, gen_height=96, frame_stride=24)
    image = marker_image()

    with recorded_encodes(engine, "wan22-5b") as pictures:
        clip, frames = generate(engine, spec(seed=3), image)

    assert len(frames) == clip.frame_count == 96
    assert [picture.shape for picture in pictures] == [(96, 128, 3)]
    assert np.allclose(delivered(pictures[0]), marker_at(frames[0]), atol=1.0)


def test_ltx2_conditions_on_frame_zero_framing(make_engine: EngineFactory) -> None:
    engine = make_engine("ltx2", gen_width=128, gen_height=96, frame_stride=24)
    frame_zero = fit_frame(marker_image(), 1280, 720)

    with recorded_encodes(engine, "ltx2") as pictures, pytest.raises(JobCancelled):
        generate(engine, spec(seed=3), marker_image(), StopAt("denoise"))

    assert [picture.shape for picture in pictures] == [(96, 128, 3)]
    assert np.allclose(delivered(pictures[0]), marker_at(frame_zero), atol=1.0)


def test_two_stage_encodes_the_image_again_at_full_resolution(make_engine: EngineFactory) -> None:
    engine = make_engine("ltx2", two_stage=True, gen_width=128, gen_height=128, frame_stride=24)
    frame_zero = fit_frame(marker_image(), 1280, 720)

    with recorded_encodes(engine, "ltx2") as pictures, pytest.raises(JobCancelled):
        generate(engine, spec(seed=3), marker_image(), StopAt("denoise-2"))

    # stage 1 at half size, then the image itself at full size for stage 2's frame 0
    assert [picture.shape for picture in pictures] == [(64, 64, 3), (128, 128, 3)]
    half, full = (delivered(picture) for picture in pictures)
    assert np.allclose(full, marker_at(frame_zero), atol=1.0)
    assert np.allclose(half, marker_at(frame_zero), atol=1.0)
