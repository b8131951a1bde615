"""``GET /v1/usage``: a key's usage per UTC day and model, from the usage ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UsageTotals(BaseModel):
    """Usage counters: of one day and model in ``data``, or of all of ``data`` in ``totals``."""

    jobs: int = Field(description="Videos accepted (creates and remixes).", examples=[12])
    completed: int = Field(description="Of those, how many completed.", examples=[10])
    failed: int = Field(
        description="Of those, how many failed (engine errors, too many attempts).", examples=[1]
    )
    cancelled: int = Field(
        description="Of those, how many were cancelled, or deleted before they ended.",
        examples=[1],
    )
    video_seconds: int = Field(
        description="Seconds of video delivered: the length of completed videos.", examples=[80]
    )
    compute_seconds: float = Field(
        description="Seconds workers (GPUs, on a GPU engine) spent generating them, every "
        "attempt included, failed and cancelled ones too; an attempt counts once it ends. 3 "
        "decimals.",
        examples=[412.5],
    )


class UsageDay(UsageTotals):
    """One model's usage on one day. Each video counts on the UTC day it was created, however
    long it took."""

    day: str = Field(
        description="The UTC day the videos were created (YYYY-MM-DD).", examples=["2026-12-01"]
    )
    model: str = Field(description="The model the videos were made with.", examples=["sora-2"])


class LimitStanding(BaseModel):
    """One limit of the key and how much of it is used."""

    limit: float | None = Field(
        description="The limit in force for this key (its own or the server default); null: "
        "no limit.",
        examples=[600],
    )
    used: float = Field(
        description="Used now: creates in the last minute's bucket terms (rpm), jobs queued or "
        "running, video seconds committed (queued + running + completed) or compute seconds "
        "spent in the current UTC day or month.",
        examples=[48],
    )
    remaining: float | None = Field(
        description="What is left before the limit refuses (null without a limit).",
        examples=[552],
    )
    resets_at: int | None = Field(
        description="Unix seconds when a daily or monthly budget starts again (null for the "
        "others).",
        examples=[1767225600],
    )


class KeyLimitsReport(BaseModel):
    """Every limit of the key, and its model list and expiry."""

    rpm: LimitStanding = Field(description="Creates per minute.")
    max_queued: LimitStanding = Field(description="Jobs queued at once.")
    max_running: LimitStanding = Field(
        description="Jobs running at once (more wait in the queue, never refused)."
    )
    daily_video_seconds: LimitStanding = Field(
        description="Video seconds committed in the current UTC day."
    )
    monthly_video_seconds: LimitStanding = Field(
        description="Video seconds committed in the current UTC month."
    )
    daily_gpu_seconds: LimitStanding = Field(
        description="Compute seconds spent (and estimated for queued and running jobs) in the "
        "current UTC day."
    )
    monthly_gpu_seconds: LimitStanding = Field(
        description="Compute seconds spent (and estimated) in the current UTC month."
    )
    models: list[str] | None = Field(
        description="Models the key may use; null: every model.", examples=[["sora-2"]]
    )
    expires_at: int | None = Field(
        description="Unix seconds when the key stops working; null: never.", examples=[None]
    )


class UsageReport(BaseModel):
    """A key's usage over a range of UTC days, and its limits now."""

    object: Literal["usage"] = Field(
        default="usage", description="Always `usage`.", examples=["usage"]
    )
    key_id: str = Field(
        description="The API key the usage belongs to: the caller's.", examples=["8f14e45fceea"]
    )
    start_date: str = Field(
        description="First day reported (YYYY-MM-DD, UTC), inclusive.", examples=["2026-11-02"]
    )
    end_date: str = Field(
        description="Last day reported (YYYY-MM-DD, UTC), inclusive.", examples=["2026-12-01"]
    )
    data: list[UsageDay] = Field(
        description="One entry per day and model with any usage, oldest day first; days "
        "without usage are left out."
    )
    totals: UsageTotals = Field(description="The sums over `data`.")
    limits: KeyLimitsReport = Field(
        description="The key's limits in force now and how much of each is used: what the "
        "next create is checked against."
    )
