"""Engines for tests: the real testcard engine, slowed down or gated step by step.

Importable by worker subprocesses as ``REELFORGE_ENGINE=tests.support.engines:create_slow``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from reelforge.core.config import Settings
from reelforge.engines.base import EngineOutput, EngineRequest, Frame, JobControl, VideoClip

SLOW_ENGINE = "tests.support.engines:create_slow"
"""The slowed testcard engine, by the name worker processes import it under."""

FAST_FAILOVER: dict[str, Any] = {
    "engine": SLOW_ENGINE,
    "engine_options": {"step_delay": 0.02},
    "lease_seconds": 2.0,
    "heartbeat_seconds": 0.3,
    "sweep_seconds": 0.3,
}
"""Settings for crash tests: a job slow enough to kill mid-render, and a lost lease swept
back to the queue within a few seconds."""


class SlowTestcard:
    """Testcard whose every frame takes ``step_delay`` seconds (engine_options)."""

    name = "testcard"

    def __init__(self, settings: Settings) -> None:
        from reelforge.engines.testcard import create_engine as create_testcard

        self.inner = create_testcard(settings)
        self.delay = float(settings.engine_options.get("step_delay", 0.05))

    def load(self) -> None:
        self.inner.load()

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "slowed": str(self.delay)}

    def generate(self, request: EngineRequest, control: JobControl) -> EngineOutput:
        delayed = _DelayedControl(control, self.delay)
        return self.inner.generate(request, delayed)


class _DelayedControl:
    def __init__(self, inner: JobControl, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def step(self, done: float, total: float, stage: str = "") -> None:
        time.sleep(self.delay)
        self.inner.step(done, total, stage)

    def log(self, message: str) -> None:
        self.inner.log(message)


def create_slow(settings: Settings) -> SlowTestcard:
    return SlowTestcard(settings)


class GatedEngine:
    """Runs ``steps`` steps; blocks before step ``gate_at`` until ``gate`` is set.

    Records every step it was allowed to start, so a test can count steps after a cancel.
    """

    name = "gated"

    def __init__(self, steps: int = 20, gate_at: int = 3) -> None:
        self.steps = steps
        self.gate_at = gate_at
        self.reached_gate = threading.Event()
        self.gate = threading.Event()
        self.steps_started: list[int] = []
        self.inner: Any = None

    def load(self) -> None:
        pass

    def describe(self) -> dict[str, str]:
        return {"engine": "gated", "is_test_engine": "true"}

    def generate(self, request: EngineRequest, control: JobControl) -> EngineOutput:
        for index in range(self.steps):
            if index == self.gate_at:
                self.reached_gate.set()
                self.gate.wait(30)
            self.steps_started.append(index)
            control.step(index + 1, self.steps, "denoise")
        return _still_clip(request)


def _still_clip(request: EngineRequest) -> VideoClip:
    import numpy as np

    spec = request.spec
    frame = np.full((spec.height, spec.width, 3), 90, dtype=np.uint8)

    def frames() -> Iterator[Frame]:
        for _ in range(spec.frame_count):
            yield frame

    audio = np.zeros((2, spec.seconds * 48_000), dtype=np.float32)
    return VideoClip(frames(), spec.frame_count, 24, audio, 48_000, {"engine": "gated"})
