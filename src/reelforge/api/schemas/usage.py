"""``GET /v1/usage``: a key's usage per UTC day and model, from the usage ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UsageTotals(BaseModel):
    """Usage counters: of one day and model in ``data``, or of all of ``data`` in ``totals``."""

    jobs: int = Field(description="Videos accepted (creates and remixes).")
    completed: int = Field(description="Of those, how many completed.")
    failed: int = Field(description="Of those, how many failed (engine errors, too many attempts).")
    cancelled: int = Field(
        description="Of those, how many were cancelled, or deleted before they ended."
    )
    video_seconds: int = Field(
        description="Seconds of video delivered: the length of completed videos."
    )
    compute_seconds: float = Field(
        description="Seconds workers (GPUs, on a GPU engine) spent generating them, every "
        "attempt included, failed and cancelled ones too; an attempt counts once it ends. 3 "
        "decimals."
    )


class UsageDay(UsageTotals):
    """One model's usage on one day. Each video counts on the UTC day it was created, however
    long it took."""

    day: str = Field(description="The UTC day the videos were created (YYYY-MM-DD).")
    model: str


class LimitStanding(BaseModel):
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
    rpm: LimitStanding
    max_queued: LimitStanding
    max_running: LimitStanding
    daily_video_seconds: LimitStanding
    monthly_video_seconds: LimitStanding
    daily_gpu_seconds: LimitStanding
    monthly_gpu_seconds: LimitStanding
    models: list[str] | None = Field(
        description="Models the key may use; null: every model.", examples=[["sora-2"]]
    )
    expires_at: int | None = Field(
        description="Unix seconds when the key stops working; null: never.", examples=[None]
    )


class UsageReport(BaseModel):
    object: Literal["usage"] = "usage"
    key_id: str = Field(description="The API key the usage belongs to: the caller's.")
    start_date: str = Field(description="First day reported (YYYY-MM-DD, UTC), inclusive.")
    end_date: str = Field(description="Last day reported (YYYY-MM-DD, UTC), inclusive.")
    data: list[UsageDay] = Field(
        description="One entry per day and model with any usage, oldest day first; days "
        "without usage are left out."
    )
    totals: UsageTotals
    limits: KeyLimitsReport = Field(
        description="The key's limits in force now and how much of each is used: what the "
        "next create is checked against."
    )
