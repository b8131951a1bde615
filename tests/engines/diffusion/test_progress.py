"""Progress weights across stages, and cancellation raised from the step callback."""

from __future__ import annotations

import pytest

from reelforge.domain.errors import JobCancelled
from reelforge.engines.diffusion.progress import ProgressTracker, Stage


class Recorder:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[float, str]] = []
        self.cancel_after = cancel_after

    def step(self, done: float, total: float, stage: str = "") -> None:
        self.reports.append((done / total, stage))
        if self.cancel_after is not None and len(self.reports) > self.cancel_after:
            raise JobCancelled("cancelled")

    def log(self, message: str) -> None:
        pass


def test_two_stage_weights_half_resolution_steps_at_a_quarter() -> None:
    recorder = Recorder()
    tracker = ProgressTracker(recorder, [Stage("denoise-1", 8, 0.25), Stage("denoise-2", 3)])
    tracker.start()
    stage1 = tracker.callback("denoise-1")
    stage2 = tracker.callback("denoise-2")
    for index in range(8):
        stage1(None, index, None, {})
    after_stage1 = recorder.reports[-1][0]
    for index in range(3):
        stage2(None, index, None, {})
    tracker.finished()

    fractions = [fraction for fraction, _ in recorder.reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # 8 quarter steps = 2 units of the 0.1 + 2 + 3 + 1 (decode) total.
    assert after_stage1 == pytest.approx(2.1 / 6.1)
    decode_fraction, decode_stage = recorder.reports[-2]
    assert decode_stage == "decode" and decode_fraction == pytest.approx(5.1 / 6.1)


def test_progress_never_goes_backwards() -> None:
    recorder = Recorder()
    tracker = ProgressTracker(recorder, [Stage("denoise", 4)])
    tracker.stage_step("denoise", 3)
    tracker.stage_step("denoise", 1)
    assert recorder.reports[-1][0] == recorder.reports[-2][0]


def test_cancellation_raises_out_of_the_callback() -> None:
    tracker = ProgressTracker(Recorder(cancel_after=2), [Stage("denoise", 30)])
    callback = tracker.callback("denoise")
    tracker.start()
    callback(None, 0, None, {})
    with pytest.raises(JobCancelled):
        callback(None, 1, None, {})
