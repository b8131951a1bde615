"""Per-key limits: what a key may do, and the refusal that says which limit stopped it.

A key's own value for a limit wins; ``None`` there means "the server-wide default from
settings"; ``UNLIMITED`` lifts a default for that key. ``KeyLimits.effective`` resolves the
three into the numbers admission enforces (``None``: no limit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from reelforge.domain.errors import ReelForgeError

UNLIMITED = -1
"""Stored in a key's limit column: no limit for this key, whatever the server default."""

LIMIT_NAMES = (
    "rpm",
    "max_queued",
    "max_running",
    "daily_video_seconds",
    "monthly_video_seconds",
    "daily_gpu_seconds",
    "monthly_gpu_seconds",
)

LONGEST_CLIENT_WAIT_SECONDS = 60
"""The openai SDK waits out a ``Retry-After`` up to this; a longer wait is told not to retry."""


@dataclass(frozen=True, slots=True)
class KeyLimits:
    rpm: int | None = None
    """Creates per minute (token bucket: bursts up to ``rpm``, refilled at rpm/60 per second)."""
    max_queued: int | None = None
    max_running: int | None = None
    daily_video_seconds: int | None = None
    monthly_video_seconds: int | None = None
    daily_gpu_seconds: float | None = None
    monthly_gpu_seconds: float | None = None

    def effective(self, defaults: KeyLimits) -> KeyLimits:
        """These limits over ``defaults``: ``None`` takes the default, ``UNLIMITED`` none."""
        values: dict[str, float | None] = {}
        for item in fields(self):
            own = getattr(self, item.name)
            value = getattr(defaults, item.name) if own is None else own
            values[item.name] = None if value == UNLIMITED else value
        return KeyLimits(**values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in LIMIT_NAMES}

    @property
    def has_budget(self) -> bool:
        return any(
            value is not None
            for value in (
                self.daily_video_seconds,
                self.monthly_video_seconds,
                self.daily_gpu_seconds,
                self.monthly_gpu_seconds,
            )
        )


class QuotaError(ReelForgeError):
    """Base of the refusals a key's limits cause (domain errors, mapped by each surface)."""


class QuotaExceeded(QuotaError):
    """A limit refused a create: ``limit`` names it, ``value`` is its setting, ``retry_at`` when
    a retry can succeed (the window's reset), ``final`` that no retry ever will (the request
    alone is larger than the budget)."""

    def __init__(
        self,
        limit: str,
        value: float,
        message: str,
        *,
        retry_at: datetime,
        now: datetime,
        final: bool = False,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value
        self.retry_at = retry_at
        self.retry_after = max(0.0, (retry_at - now).total_seconds())
        self.final = final

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds for ``Retry-After`` (rounded up, at least 1)."""
        return max(1, math.ceil(self.retry_after))

    @property
    def worth_retrying(self) -> bool:
        """Whether a client should retry on its own: only a wait it would actually sit out."""
        return not self.final and self.retry_after <= LONGEST_CLIENT_WAIT_SECONDS


class ModelNotAllowed(QuotaError):
    """The key may not use the requested model."""

    def __init__(self, model: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"this API key may not use model {model!r}; it may use: {', '.join(allowed)} "
            "(an operator changes this with `reelforge keys update KEY --models ...`)"
        )
        self.model = model
        self.allowed = allowed


def next_day(now: datetime) -> datetime:
    """The next UTC midnight: when daily budgets reset."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def next_month(now: datetime) -> datetime:
    """The first instant of the next UTC calendar month: when monthly budgets reset."""
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def describe_reset(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
