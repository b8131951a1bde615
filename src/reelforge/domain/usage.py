"""Usage report ranges: UTC days written YYYY-MM-DD, and the default window (the last 30 days,
today included), shared by ``GET /v1/usage`` and ``reelforge keys usage``."""

from __future__ import annotations

import re
from datetime import date, timedelta

DEFAULT_DAYS = 30
"""A report without dates covers this many days, today (UTC) included."""
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text: str) -> date:
    """The day ``text`` names, written exactly YYYY-MM-DD; ``ValueError`` otherwise (the ISO
    parser alone would also take ``20261201`` and week dates)."""
    if _DAY.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return date.fromisoformat(text)


def report_range(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The days to report: ``last`` defaults to today, ``first`` to 29 days before ``last``."""
    last = last or today
    if first is None:
        try:
            first = last - timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError:  # a last day in the first days of year 1
            first = date.min
    return first, last
