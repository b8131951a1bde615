"""Job states and the job as the domain sees it (a frozen snapshot of one row)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reelforge.domain.specs import GenerationSpec


class Status(enum.StrEnum):
    """Internal states; each API surface maps them to its own words."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


@dataclass(frozen=True, slots=True)
class JobOutputs:
    """Blob keys of a finished job's files."""

    video: str
    thumbnail: str
    spritesheet: str


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    owner: str | None
    spec: GenerationSpec
    status: Status
    progress: float
    attempts: int
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    error_code: str | None
    error_message: str | None
    outputs: JobOutputs | None
    engine: str | None
    lease_owner: str | None
    lease_token: str | None
    lease_expires_at: datetime | None
    remixed_from: str | None = None
    stage: str | None = None
    """What a running job is doing: ``loading`` (claimed, before the engine's first step),
    ``denoising`` (the engine's steps) or ``encoding`` (muxing, previews, storing)."""
    surface: str | None = None
    """The API surface that created it: ``openai``, ``seed``, or None (the command line)."""
    compute_seconds: float = 0.0
    """Wall-clock seconds worker slots spent on it: every ended attempt (a running attempt
    counts once it ends)."""
    fair_tag: float = 0.0
    """Its place in the fair queue among all keys' jobs, fixed when it was enqueued (see
    ``reelforge.store.fairness``)."""
    engine_state: Mapping[str, Any] = field(default_factory=dict)
    """What the engine recorded for later attempts (an upstream engine's remote job id and
    what happened to it); empty for engines that keep nothing."""
    request_id: str | None = None
    """The ``X-Request-Id`` of the HTTP request that created it (None: the command line)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof that a worker owns a running job; every write it makes is fenced by ``token``."""

    job_id: str
    token: str
    owner: str
    expires_at: datetime
    attempt: int
