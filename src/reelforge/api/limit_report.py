"""The ``limits`` block of ``GET /v1/usage``: each limit in force for the caller's key, and how
much of it is used now (what the next create is checked against)."""

from __future__ import annotations

from datetime import datetime

from reelforge.api.schemas.usage import KeyLimitsReport, LimitStanding
from reelforge.domain.quotas import KeyLimits, next_day, next_month
from reelforge.store.keys import ApiKey
from reelforge.store.quotas import KeyStanding


def limits_report(key: ApiKey, defaults: KeyLimits, standing: KeyStanding) -> KeyLimitsReport:
    limits = key.limits.effective(defaults)
    totals, now = standing.totals, standing.now
    day, month = next_day(now), next_month(now)
    rpm_used = 0.0 if limits.rpm is None else limits.rpm - standing.rate_tokens(limits.rpm)
    return KeyLimitsReport(
        rpm=_standing(limits.rpm, round(rpm_used, 3)),
        max_queued=_standing(limits.max_queued, standing.queued),
        max_running=_standing(limits.max_running, standing.running),
        daily_video_seconds=_standing(
            limits.daily_video_seconds, totals["daily_committed"], resets=day
        ),
        monthly_video_seconds=_standing(
            limits.monthly_video_seconds, totals["monthly_committed"], resets=month
        ),
        daily_gpu_seconds=_standing(
            limits.daily_gpu_seconds, round(totals["daily_compute"], 3), resets=day
        ),
        monthly_gpu_seconds=_standing(
            limits.monthly_gpu_seconds, round(totals["monthly_compute"], 3), resets=month
        ),
        models=list(key.allowed_models) if key.allowed_models is not None else None,
        expires_at=int(key.expires_at.timestamp()) if key.expires_at is not None else None,
    )


def _standing(limit: float | None, used: float, *, resets: datetime | None = None) -> LimitStanding:
    return LimitStanding(
        limit=limit,
        used=used,
        remaining=None if limit is None else max(0.0, limit - used),
        resets_at=int(resets.timestamp()) if resets is not None and limit is not None else None,
    )
