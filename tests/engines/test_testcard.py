"""The testcard engine: deterministic, lazy, truthful progress, cancellable, labelled."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from reelforge.core.config import Settings
from reelforge.domain.errors import EngineError, JobCancelled
from reelforge.domain.limits import FPS
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import Engine, EngineRequest, Frame, VideoClip, create_engine
from reelforge.engines.testcard import (
    LABEL,
    SAMPLE_RATE,
    TestcardEngine,
    _font,
    derive_seed,
    timecode,
    wrap_text,
)

PROMPT = "A lighthouse on a cliff at dusk, waves below, gulls circling"


class RecordingControl:
    """A JobControl that records every step and can cancel at a chosen one."""

    def __init__(self, cancel_at: int | None = None) -> None:
        self.steps: list[tuple[float, float, str]] = []
        self.cancel_at = cancel_at

    def step(self, done: float, total: float, stage: str = "") -> None:
        self.steps.append((done, total, stage))
        if self.cancel_at is not None and done >= self.cancel_at:
            raise JobCancelled("cancelled by the test")

    def log(self, message: str) -> None:
        pass


def spec(seed: int = 42, size: str = "1280x720", prompt: str = PROMPT) -> GenerationSpec:
    return GenerationSpec.build(prompt, size=size, seconds=4, seed=seed)


def generate(request: EngineRequest, control: RecordingControl | None = None) -> VideoClip:
    return TestcardEngine().generate(request, control or RecordingControl())


def all_frames(clip: VideoClip) -> list[Frame]:
    return list(clip.frames)


def photo(width: int = 1280, height: int = 720) -> Frame:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_registered_under_testcard_and_is_an_engine() -> None:
    engine = create_engine(Settings(engine="testcard"))
    assert isinstance(engine, TestcardEngine)
    assert isinstance(engine, Engine)


def test_says_it_is_a_test_engine(caplog: pytest.LogCaptureFixture) -> None:
    engine = TestcardEngine()
    with caplog.at_level(logging.WARNING, logger="reelforge.engines.testcard"):
        engine.load()
    assert any("testcard" in r.message and r.levelno == logging.WARNING for r in caplog.records)
    facts = engine.describe()
    assert facts["engine"] == "testcard"
    assert facts["is_test_engine"] == "true"
    metadata = generate(EngineRequest(spec())).metadata
    assert metadata["engine"] == "testcard"
    assert metadata["is_test_engine"] == "true"
    assert LABEL in metadata["comment"]


@pytest.mark.parametrize("size", ["1280x720", "720x1280"])
def test_exact_size_frame_count_and_audio_length(size: str) -> None:
    request_spec = spec(size=size)
    clip = generate(EngineRequest(request_spec))
    frames = all_frames(clip)
    assert clip.fps == FPS == 24
    assert clip.frame_count == len(frames) == 4 * 24
    assert {f.shape for f in frames} == {(request_spec.height, request_spec.width, 3)}
    assert {f.dtype for f in frames} == {np.dtype(np.uint8)}
    assert clip.sample_rate == SAMPLE_RATE
    assert clip.audio.shape == (2, 4 * SAMPLE_RATE)
    assert clip.audio.dtype == np.float32
    assert float(np.abs(clip.audio).max()) <= 1.0


def test_same_prompt_and_seed_give_identical_frames_and_audio() -> None:
    first, second = generate(EngineRequest(spec())), generate(EngineRequest(spec()))
    assert first.audio.tobytes() == second.audio.tobytes()
    for a, b in zip(first.frames, second.frames, strict=True):
        assert a.tobytes() == b.tobytes()


def test_seed_and_prompt_change_the_output() -> None:
    base = generate(EngineRequest(spec(seed=1)))
    other_seed = generate(EngineRequest(spec(seed=2)))
    other_prompt = generate(EngineRequest(spec(seed=1, prompt="Something else entirely")))
    base_frame = next(base.frames)
    assert not np.array_equal(base_frame, next(other_seed.frames))
    assert not np.array_equal(base_frame, next(other_prompt.frames))
    assert not np.array_equal(base.audio, other_seed.audio)
    assert derive_seed("a", 1) != derive_seed("a", 2) != derive_seed("b", 1)


def test_frames_move() -> None:
    frames = all_frames(generate(EngineRequest(spec())))
    assert not np.array_equal(frames[10], frames[11])
    assert not np.array_equal(frames[0], frames[-1])


def test_first_frame_is_the_image_then_it_animates() -> None:
    image = photo()
    frames = all_frames(generate(EngineRequest(spec(), first_frame=image)))
    assert np.array_equal(frames[0], image)
    assert not np.array_equal(frames[1], image)  # the overlay starts fading in
    late = frames[-1].astype(np.int16)
    assert float(np.abs(late - image).mean()) > 5  # panned away from the start


def test_portrait_first_frame() -> None:
    image = photo(720, 1280)
    first = next(generate(EngineRequest(spec(size="720x1280"), first_frame=image)).frames)
    assert np.array_equal(first, image)


def test_first_frame_of_the_wrong_size_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match=r"expected RGB uint8 \(720, 1280, 3\)"):
        generate(EngineRequest(spec(), first_frame=photo(720, 1280)))


def test_progress_is_reported_for_every_frame_in_order() -> None:
    control = RecordingControl()
    clip = generate(EngineRequest(spec()), control)
    assert control.steps == []  # nothing rendered until frames are consumed
    iterator = iter(clip.frames)
    next(iterator)
    assert control.steps == [(1, 96, "render")]
    for _ in iterator:
        pass
    assert control.steps == [(i + 1, 96, "render") for i in range(96)]


def test_cancel_stops_within_one_frame() -> None:
    control = RecordingControl(cancel_at=10)
    clip = generate(EngineRequest(spec()), control)
    received = []
    with pytest.raises(JobCancelled):
        for frame in clip.frames:
            received.append(frame)
    assert len(received) == 9
    assert len(control.steps) == 10


def test_audio_ticks_every_second() -> None:
    audio = generate(EngineRequest(spec())).audio
    window = SAMPLE_RATE // 100  # 10 ms
    for second in range(4):
        start = second * SAMPLE_RATE
        at_tick = float(np.abs(audio[:, start + 10 : start + window]).max())
        between = float(np.abs(audio[:, start + SAMPLE_RATE // 2 :][:, :window]).max())
        assert at_tick > between + 0.1, f"no tick at {second} s"


def test_timecode() -> None:
    assert timecode(0) == "00:00:00:00"
    assert timecode(23) == "00:00:00:23"
    assert timecode(24) == "00:00:01:00"
    assert timecode(24 * 3661 + 5) == "01:01:01:05"


def test_prompt_is_wrapped_and_truncated() -> None:
    font = _font(28)
    lines = wrap_text("word " * 200, font, 600, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 600 for line in lines)
    assert wrap_text("short\nprompt\x00here", font, 600, 3) == ["short prompt here"]
    long_word = wrap_text("x" * 500, font, 300, 2)
    assert long_word[0].endswith("…")
    assert font.getlength(long_word[0]) <= 300
