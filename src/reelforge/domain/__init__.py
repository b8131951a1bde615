"""Domain objects: job states, the validated spec, the limits of a request and the exception
hierarchy. Nothing here does I/O."""

from reelforge.domain.errors import (
    ConfigError,
    EngineError,
    EngineLoadError,
    IdempotencyConflict,
    JobCancelled,
    JobInterrupted,
    JobNotFound,
    KeyNotFound,
    LeaseLost,
    PolicyRefused,
    ReelForgeError,
    SpecError,
    UnknownEngine,
)
from reelforge.domain.jobs import TERMINAL_STATES, Job, JobOutputs, Lease, Status
from reelforge.domain.limits import FPS
from reelforge.domain.specs import GenerationSpec

__all__ = [
    "FPS",
    "TERMINAL_STATES",
    "ConfigError",
    "EngineError",
    "EngineLoadError",
    "GenerationSpec",
    "IdempotencyConflict",
    "Job",
    "JobCancelled",
    "JobInterrupted",
    "JobNotFound",
    "JobOutputs",
    "KeyNotFound",
    "Lease",
    "LeaseLost",
    "PolicyRefused",
    "ReelForgeError",
    "SpecError",
    "Status",
    "UnknownEngine",
]
