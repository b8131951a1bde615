"""``GET /v1/usage``: what the caller's key used, per UTC day and model, read from the usage
ledger (the same numbers its budgets are checked against). A key sees only its own usage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from pydantic.config import JsonDict

from reelforge.api.deps import ContextDep, CurrentKey
from reelforge.api.errors import ApiError, documented
from reelforge.api.limit_report import limits_report
from reelforge.api.schemas.openai import OpenAIError
from reelforge.api.schemas.usage import KeyLimitsReport, UsageDay, UsageReport, UsageTotals
from reelforge.domain.usage import parse_day, report_range
from reelforge.store.usage import UsageRow

router = APIRouter(
    prefix="/v1",
    tags=["Usage"],
    responses=documented(
        OpenAIError,
        {
            400: "A date that is not YYYY-MM-DD, or start_date after end_date",
            401: "Missing or unknown API key",
        },
    ),
)

# Declared, not validated by FastAPI: ``_day`` gives the error, naming the format to use.
_DAY_SCHEMA: JsonDict = {"format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
Day = Annotated[str, Field(json_schema_extra=_DAY_SCHEMA)]
StartDate = Annotated[
    Day | None,
    Query(
        description="First UTC day to report, YYYY-MM-DD (default: 29 days before end_date); "
        "on or before end_date.",
        examples=["2026-12-01"],
    ),
]
EndDate = Annotated[
    Day | None,
    Query(
        description="Last UTC day to report, YYYY-MM-DD, inclusive (default: today).",
        examples=["2026-12-31"],
    ),
]


@router.get(
    "/usage",
    response_model=UsageReport,
    summary="Your key's usage per day and model: videos, outcomes, seconds delivered, compute",
)
def get_usage(
    key: CurrentKey,
    context: ContextDep,
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> UsageReport:
    """Per UTC day and model: videos accepted and how they ended, seconds of video delivered
    and compute seconds spent, from the same ledger the key's budgets are checked against;
    plus each limit in force and how much of it is used. 30 days up to today by default."""
    today = context.runtime.store.clock().date()
    first, last = report_range(_day(start_date, "start_date"), _day(end_date, "end_date"), today)
    if first > last:
        raise ApiError(
            400,
            f"start_date {first.isoformat()} is after end_date {last.isoformat()}; "
            "give a start on or before the end",
            param="start_date",
            code="invalid_value",
        )
    database = context.runtime.database
    rows = database.usage.daily(key.id, first.isoformat(), last.isoformat())
    limits = limits_report(key, context.settings.default_limits, database.quotas.standing(key.id))
    return usage_report(key.id, first, last, rows, limits)


def _day(value: str | None, param: str) -> date | None:
    """The day ``value`` names (YYYY-MM-DD), None when absent; a 400 naming ``param`` else."""
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise ApiError(
            400,
            f"{param}: {shown!r} is not a date; use YYYY-MM-DD (a UTC day), e.g. 2026-12-01",
            param=param,
            code="invalid_value",
        ) from None


def usage_report(
    key_id: str, first: date, last: date, rows: Sequence[UsageRow], limits: KeyLimitsReport
) -> UsageReport:
    days = [UsageDay(day=row.day, model=row.model, **_counts([row])) for row in rows]
    return UsageReport(
        key_id=key_id,
        start_date=first.isoformat(),
        end_date=last.isoformat(),
        data=days,
        totals=UsageTotals(**_counts(rows)),
        limits=limits,
    )


def _counts(rows: Sequence[UsageRow]) -> dict[str, Any]:
    """The counters of ``UsageTotals`` summed over ``rows`` (one row: that row's)."""
    return {
        "jobs": sum(row.jobs for row in rows),
        "completed": sum(row.completed for row in rows),
        "failed": sum(row.failed for row in rows),
        "cancelled": sum(row.cancelled for row in rows),
        "video_seconds": sum(row.video_seconds_delivered for row in rows),
        "compute_seconds": round(sum(row.compute_seconds for row in rows), 3),
    }
