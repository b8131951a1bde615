"""Domain objects: job states, the validated spec and the exception hierarchy."""

from reelforge.domain.errors import (
    ConfigError,
    EngineError,
    EngineLoadError,
    JobCancelled,
    JobInterrupted,
    JobNotFound,
    LeaseLost,
    ReelForgeError,
    SpecError,
    UnknownEngine,
)
from reelforge.domain.jobs import TERMINAL_STATES, Job, JobOutputs, Lease, Status
from reelforge.domain.specs import FPS, GenerationSpec

__all__ = [
    "FPS",
    "TERMINAL_STATES",
    "ConfigError",
    "EngineError",
    "EngineLoadError",
    "GenerationSpec",
    "Job",
    "JobCancelled",
    "JobInterrupted",
    "JobNotFound",
    "JobOutputs",
    "Lease",
    "LeaseLost",
    "ReelForgeError",
    "SpecError",
    "Status",
    "UnknownEngine",
]
