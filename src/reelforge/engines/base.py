"""The engine interface: a validated spec and a control handle in; frames + audio out.

An engine is loaded once per worker process and called for one job at a time per slot. It
reports progress and gives the worker a chance to stop it through ``JobControl.step``, which
raises ``JobCancelled`` or ``LeaseLost`` between steps; the engine lets that propagate.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from reelforge.domain.errors import UnknownEngine
from reelforge.domain.specs import GenerationSpec

if TYPE_CHECKING:
    from reelforge.core.config import Settings

Frame = npt.NDArray[np.uint8]
"""One video frame: shape (height, width, 3), RGB, uint8."""

Audio = npt.NDArray[np.float32]
"""Audio samples: shape (channels, samples), float32 in [-1, 1]."""


class JobControl(Protocol):
    """What an engine may do with the job it is running."""

    def step(self, done: float, total: float, stage: str = "") -> None:
        """Report that ``done`` of ``total`` units of work are finished.

        Raises ``JobCancelled`` / ``LeaseLost`` when the engine must stop; call it between
        steps (a denoising step, a frame) and let the exception propagate.
        """

    def log(self, message: str) -> None:
        """Record a line in the worker's log for this job."""


@runtime_checkable
class StatefulControl(JobControl, Protocol):
    """The worker's control also lets an engine remember things across attempts.

    An engine that starts work elsewhere (an upstream server) saves the remote id before it
    waits on it; if the worker dies, the next attempt reads it back and resumes instead of
    paying for the work twice.
    """

    def check(self) -> None:
        """Raise ``JobCancelled`` / ``LeaseLost`` when the job must stop (no progress made)."""

    def saved_state(self) -> Mapping[str, Any]:
        """What an earlier attempt (or this one) saved; empty at first."""

    def save_state(self, state: Mapping[str, Any]) -> None:
        """Persist ``state`` (JSON-able) with the job before returning; raises ``LeaseLost``
        when this attempt no longer owns the job."""


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """What the worker hands an engine: the spec plus the decoded first frame, if any.

    ``job_id`` names the job (an engine may use it as an idempotency key elsewhere);
    ``workdir`` is a scratch directory for this attempt, removed when the job's files are
    stored (an engine's ``RenderedFile`` may live there).
    """

    spec: GenerationSpec
    first_frame: Frame | None = None
    job_id: str = ""
    workdir: Path | None = None


@dataclass(slots=True)
class VideoClip:
    """Frames and a soundtrack for the media module to encode.

    ``frames`` may be a lazy iterator so long clips are never all in memory; it must yield
    exactly ``frame_count`` frames of the spec's size. ``audio`` must last as long as the video.
    ``metadata`` lands in the MP4's tags (engine, model, ...).
    """

    frames: Iterator[Frame]
    frame_count: int
    fps: int
    audio: Audio
    sample_rate: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """An engine that produces a finished MP4 itself (e.g. an upstream server) returns this."""

    path: Path
    metadata: dict[str, str] = field(default_factory=dict)


EngineOutput = VideoClip | RenderedFile


@runtime_checkable
class Engine(Protocol):
    """A video generator. ``load`` runs once per process; ``generate`` once per job."""

    name: str

    def load(self) -> None:
        """Prepare the model; raise ``EngineLoadError`` with a fix-it message on failure."""

    def describe(self) -> dict[str, str]:
        """Facts for logs and readiness probes: engine, model, device, is_test_engine, ..."""

    def generate(self, request: EngineRequest, control: JobControl) -> EngineOutput:
        """Make the video for ``request``; call ``control.step`` between units of work."""


EngineFactory = Callable[["Settings"], Engine]

# Engines are named by "module:callable" so heavy dependencies load only when chosen.
_REGISTRY: dict[str, str | EngineFactory] = {
    "testcard": "reelforge.engines.testcard:create_engine",
    "diffusers": "reelforge.engines.diffusers_engine:create_engine",
    "upstream": "reelforge.engines.upstream:create_engine",
}


def register_engine(name: str, factory: str | EngineFactory) -> None:
    """Make ``factory`` available as ``settings.engine == name`` (plugins, tests)."""
    _REGISTRY[name.lower()] = factory


def engine_names() -> list[str]:
    return sorted(_REGISTRY)


def create_engine(settings: Settings) -> Engine:
    """Build (but do not load) the engine the settings name."""
    return engine_factory(settings.engine)(settings)


def engine_factory(name: str) -> EngineFactory:
    """The factory for a registered name, or for a plugin given as ``package.module:callable``."""
    entry = _REGISTRY.get(name, name if ":" in name else None)
    if entry is None:
        known = ", ".join(engine_names())
        raise UnknownEngine(
            f"unknown engine {name!r}; set REELFORGE_ENGINE to one of: {known} "
            "(or a plugin as package.module:factory)"
        )
    return _resolve(entry) if isinstance(entry, str) else entry


def _resolve(path: str) -> EngineFactory:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory: EngineFactory = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownEngine(f"engine {path!r} cannot be imported: {exc}") from None
    return factory
