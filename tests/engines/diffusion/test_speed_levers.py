"""Speed levers change how fast a job runs, never what it delivers.

Each lever is an option; these tests pin that turning it on gives the same clip (device-side
frame conversion, one prompt encoding for both stages), that the warm-up covers every shape
a later job brings, and the surrounding behaviour (caveats, fp8 errors, memory release).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from reelforge.domain.errors import EngineLoadError, JobCancelled
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.diffusion.geometry import fit_frame, plan_generation, to_uint8
from tests.engines.diffusion.conftest import (
    EngineFactory,
    RecordingControl,
    generate,
    noise_image,
    spec,
)
from tests.engines.diffusion.gpu_extra import require_gpu_extra

require_gpu_extra()

import torch  # noqa: E402  (after the gpu-extra check)


@pytest.mark.parametrize(("multiple", "override"), [(64, None), (32, (64, 64))])
def test_device_conversion_matches_the_host_path(
    multiple: int, override: tuple[int, int] | None
) -> None:
    from reelforge.engines.diffusion.runners import frames_to_host

    request_spec = GenerationSpec.build("x", seconds=4, seed=1)
    plan = plan_generation(request_spec, multiple, 8, 8, override)
    video = torch.rand(plan.num_frames, 3, plan.height, plan.width) * 1.2 - 0.1
    video[0, 0, 0, 0] = float("nan")

    on_device = frames_to_host(video, plan)

    host = to_uint8(video.permute(0, 2, 3, 1).numpy())
    expected = [fit_frame(frame, 1280, 720) for frame in host[: len(on_device)]]
    assert len(on_device) == 12  # 96 frames at stride 8; the 13th is never shown
    for got, want in zip(on_device, expected, strict=True):
        assert np.array_equal(fit_frame(got, 1280, 720), want)


def test_device_conversion_delivers_the_same_clip(make_engine: EngineFactory) -> None:
    image = noise_image(7)
    _, fast = generate(make_engine("wan22-5b"), spec(seed=2), image)
    _, slow = generate(make_engine("wan22-5b", frames_on_device=False), spec(seed=2), image)
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow, strict=True))


@contextmanager
def counted_calls(module: Any) -> Iterator[list[int]]:
    calls: list[int] = []
    handle = module.register_forward_hook(lambda *_: calls.append(1))
    try:
        yield calls
    finally:
        handle.remove()


def test_two_stage_encodes_the_prompt_once(make_engine: EngineFactory) -> None:
    sizes = {"two_stage": True, "gen_width": 64, "gen_height": 64}
    reusing, encoding_twice = (
        make_engine("ltx2", **sizes),
        make_engine("ltx2", reuse_prompt_embeds=False, **sizes),
    )
    text_encoder = reusing._models["ltx2"].text_to_video.text_encoder

    with counted_calls(text_encoder) as calls:
        clip, frames = generate(reusing, spec(seed=8))
    assert len(calls) == 1
    with counted_calls(encoding_twice._models["ltx2"].text_to_video.text_encoder) as calls:
        clip_again, frames_again = generate(encoding_twice, spec(seed=8))
    assert len(calls) == 2

    assert all(np.array_equal(a, b) for a, b in zip(frames, frames_again, strict=True))
    assert np.array_equal(clip.audio, clip_again.audio)


def _shapes(values: Any) -> Iterator[tuple[int, ...]]:
    for value in values:
        if isinstance(value, torch.Tensor):
            yield tuple(value.shape)
        elif isinstance(value, tuple | list):
            yield from _shapes(value)


@contextmanager
def block_shapes(transformer: Any) -> Iterator[set[tuple[Any, ...]]]:
    """Input shapes of the repeated blocks, what ``compile_repeated_blocks`` graphs key on."""
    seen: set[tuple[Any, ...]] = set()
    first_block = next(
        module
        for module in transformer.modules()
        if type(module).__name__ in transformer._repeated_blocks
    )

    def record(_: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        seen.add(tuple(_shapes([*args, *kwargs.values()])))

    handle = first_block.register_forward_pre_hook(record, with_kwargs=True)
    try:
        yield seen
    finally:
        handle.remove()


def test_warm_up_covers_every_shape_a_job_brings(make_engine: EngineFactory) -> None:
    engine = make_engine("wan22-5b", gen_width=64, gen_height=32)
    transformer = engine._models["wan22-5b"].text_to_video.transformer

    with block_shapes(transformer) as warmed:
        runs = engine.warm_up()
    with block_shapes(transformer) as used:
        generate(engine, spec(seconds=8, size="720x1280"), noise_image(1, 720, 1280))
        generate(engine, spec(seconds=12))

    assert runs == 6  # 3 durations x (text, image) for the one preset in use
    assert used <= warmed


class LoggingControl(RecordingControl):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def test_wan_beyond_its_trained_length_carries_a_caveat(make_engine: EngineFactory) -> None:
    engine = make_engine("wan22-5b")
    long_control, short_control = LoggingControl(), LoggingControl()

    long_clip, _ = generate(engine, spec(seconds=8), control=long_control)
    short_clip, _ = generate(engine, spec(seconds=4), control=short_control)

    assert "121 frames" in long_clip.metadata["quality_caveat"]
    assert long_control.lines == [long_clip.metadata["quality_caveat"]]
    assert "quality_caveat" not in short_clip.metadata and not short_control.lines


def test_failed_run_frees_memory_before_the_next_job_may_start(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reelforge.engines.diffusers_engine as module
    from reelforge.engines.diffusion import failures

    engine = make_engine("wan22-5b")
    lock_held: list[bool] = []
    release = failures.free_accelerator_memory

    def recording_release(device: Any) -> None:
        lock_held.append(engine._run_lock.locked())
        release(device)

    monkeypatch.setattr(module, "free_accelerator_memory", recording_release)
    control = RecordingControl(stop_at=1, stop_with=JobCancelled("cancelled by owner"))
    with pytest.raises(JobCancelled):
        generate(engine, spec(), control=control)

    assert lock_held == [True]


@pytest.mark.skipif(
    importlib.util.find_spec("torchao") is not None, reason="torchao is installed here"
)
def test_fp8_without_torchao_says_how_to_get_it() -> None:
    from reelforge.engines.diffusion.speed import apply_fp8

    with pytest.raises(EngineLoadError, match="pip install torchao"):
        apply_fp8(torch.nn.Linear(4, 4), torch.device("cpu"))


def test_fp8_on_a_machine_without_it_fails_the_load_with_the_fix(
    tiny_checkpoints: dict[str, Any],
) -> None:
    from reelforge.core.config import Settings
    from reelforge.engines.diffusers_engine import create_engine
    from tests.engines.diffusion.conftest import tiny_options

    options = tiny_options("wan22-5b", tiny_checkpoints["wan22-5b"], fp8=True)
    engine = create_engine(Settings(engine="diffusers", engine_options=options))

    # CPU here: without torchao the message says how to install it, with it that fp8 needs a GPU
    with pytest.raises(EngineLoadError, match=r"engine_options\.fp8 needs .*set fp8 = false"):
        engine.load()
