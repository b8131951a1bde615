"""Truthful progress across text encoding, one or two denoising stages, upsampling and decode.

Work is counted in "full-resolution transformer step" units. A half-resolution step of the
two-stage recipe weighs a quarter (a quarter of the tokens; the counted FLOPs are 96 vs 461 TFLOP
per LTX-2 pass), and the decode gets ``DECODE_SHARE`` of the denoising work, because on the
real checkpoints the VAE decode costs roughly 5-10 % of the denoising FLOPs.
``control.step`` is the only way out: when it raises (cancel, lost lease) the exception travels
up through the pipeline's ``callback_on_step_end`` and stops the denoising loop at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reelforge.engines.base import JobControl

DECODE_SHARE = 0.1
ENCODE_UNITS = 0.1


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    steps: int
    weight_per_step: float = 1.0

    @property
    def units(self) -> float:
        return self.steps * self.weight_per_step


@dataclass(slots=True)
class ProgressTracker:
    """Maps (stage, step) to ``control.step(done, total, stage)``; never goes backwards."""

    control: JobControl
    stages: list[Stage]
    _offsets: dict[str, float] = field(init=False, default_factory=dict)
    _total: float = field(init=False, default=0.0)
    _done: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        offset = ENCODE_UNITS
        for stage in self.stages:
            self._offsets[stage.name] = offset
            offset += stage.units
        denoise_units = sum(stage.units for stage in self.stages)
        self._offsets["decode"] = offset
        self._total = offset + max(DECODE_SHARE * denoise_units, 1.0)

    @property
    def total(self) -> float:
        return self._total

    def start(self) -> None:
        self._report(0.0, "encode")

    def stage_step(self, stage_name: str, steps_done: int) -> None:
        stage = next(stage for stage in self.stages if stage.name == stage_name)
        self._report(self._offsets[stage_name] + steps_done * stage.weight_per_step, stage_name)

    def decoding(self) -> None:
        self._report(self._offsets["decode"], "decode")

    def finished(self) -> None:
        self._report(self._total, "done")

    def callback(self, stage_name: str) -> Callable[..., dict[str, Any]]:
        """A ``callback_on_step_end`` that reports progress and lets cancellation raise."""
        stage = next(stage for stage in self.stages if stage.name == stage_name)

        def on_step_end(
            pipeline: Any, step_index: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            self.stage_step(stage_name, step_index + 1)
            if step_index + 1 == stage.steps and stage is self.stages[-1]:
                self.decoding()
            return {}

        return on_step_end

    def _report(self, done: float, stage: str) -> None:
        self._done = max(self._done, min(done, self._total))
        self.control.step(self._done, self._total, stage)
