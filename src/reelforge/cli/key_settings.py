"""Reading a key's limits from the command line: every value checked before anything changes.

Each limit takes a number, ``unlimited`` (lifts the server default for this key) or, on
``keys update``, ``default`` (back to the server default). ``--models`` takes model names
separated by commas, or ``all``; ``--expires`` an ISO date or time (UTC unless it says
otherwise), a duration from now (``30d``, ``12h``, ``90m``) or ``never``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from reelforge.domain.limits import MODEL_NAMES
from reelforge.domain.quotas import UNLIMITED

MAX_WEIGHT = 100


@dataclass(frozen=True, slots=True)
class LimitSpec:
    option: str
    minimum: float
    integer: bool


LIMITS = {
    "rpm": LimitSpec("--rpm", 1, True),
    "max_queued": LimitSpec("--max-queued", 0, True),
    "max_running": LimitSpec("--max-running", 1, True),
    "daily_video_seconds": LimitSpec("--daily-video-seconds", 0, True),
    "monthly_video_seconds": LimitSpec("--monthly-video-seconds", 0, True),
    "daily_gpu_seconds": LimitSpec("--daily-gpu-seconds", 0, False),
    "monthly_gpu_seconds": LimitSpec("--monthly-gpu-seconds", 0, False),
}

_DURATION = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class SettingError(ValueError):
    """A value on the command line that cannot be a key setting; the message says why."""


def _limit_option(name: str, help_text: str) -> Any:
    return typer.Option(LIMITS[name].option, help=help_text, metavar="N|unlimited|default")


RpmOption = Annotated[
    str | None, _limit_option("rpm", "Video creates per minute (bursts up to this many).")
]
MaxQueuedOption = Annotated[
    str | None, _limit_option("max_queued", "Jobs the key may have queued at once.")
]
MaxRunningOption = Annotated[
    str | None,
    _limit_option("max_running", "Jobs of the key running at once (more wait in the queue)."),
]
DailyVideoOption = Annotated[
    str | None,
    _limit_option("daily_video_seconds", "Video seconds per UTC day (queued+running+done)."),
]
MonthlyVideoOption = Annotated[
    str | None, _limit_option("monthly_video_seconds", "Video seconds per UTC month.")
]
DailyGpuOption = Annotated[
    str | None, _limit_option("daily_gpu_seconds", "Engine compute (GPU) seconds per UTC day.")
]
MonthlyGpuOption = Annotated[
    str | None, _limit_option("monthly_gpu_seconds", "Engine compute seconds per UTC month.")
]
ModelsOption = Annotated[
    str | None,
    typer.Option(
        "--models", help="Models the key may use, comma-separated, or 'all'.", metavar="LIST|all"
    ),
]
ExpiresOption = Annotated[
    str | None,
    typer.Option(
        "--expires",
        help="When the key stops working: 2027-01-31, 2027-01-31T12:00Z, 30d, 12h, or never.",
        metavar="WHEN|never",
    ),
]
WeightOption = Annotated[
    str | None,
    typer.Option(
        "--weight",
        help=f"Fair-share weight in the queue, 1-{MAX_WEIGHT} (default 1): a key with weight 3 "
        "gets 3 turns for each turn of a weight-1 key while both wait.",
        metavar="N",
    ),
]


def parse_settings(
    given: dict[str, str | None], *, now: datetime, allow_default: bool
) -> dict[str, Any]:
    """Key settings from the options ``given`` (name -> text, None when not given)."""
    settings: dict[str, Any] = {}
    for name, text in given.items():
        if text is None:
            continue
        if name in LIMITS:
            settings[name] = parse_limit(name, text, allow_default=allow_default)
        elif name == "allowed_models":
            settings[name] = parse_models(text)
        elif name == "expires_at":
            settings[name] = parse_expiry(text, now)
        elif name == "weight":
            settings[name] = parse_weight(text)
    return settings


def parse_limit(name: str, text: str, *, allow_default: bool) -> float | None:
    spec = LIMITS[name]
    value = text.strip().lower()
    if value == "unlimited":
        return UNLIMITED
    if value == "default" and allow_default:
        return None
    try:
        number = int(value) if spec.integer else float(value)
    except ValueError:
        words = "unlimited or default" if allow_default else "unlimited"
        kind = "a whole number" if spec.integer else "a number"
        raise SettingError(f"{spec.option} must be {kind} or {words} (got {text!r})") from None
    if not math.isfinite(number) or number < spec.minimum:
        raise SettingError(f"{spec.option} must be at least {spec.minimum:g} (got {text!r})")
    return number


def parse_models(text: str) -> tuple[str, ...] | None:
    if text.strip().lower() == "all":
        return None
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise SettingError("--models needs at least one model name, or 'all'")
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown:
        raise SettingError(
            f"--models: unknown model {unknown[0]!r}; the models are {', '.join(MODEL_NAMES)}"
        )
    return names


def parse_expiry(text: str, now: datetime) -> datetime | None:
    value = text.strip()
    if value.lower() == "never":
        return None
    duration = _DURATION.match(value.lower())
    if duration is not None:
        amount, unit = int(duration.group(1)), _UNITS[duration.group(2)]
        if amount == 0:
            raise SettingError("--expires: a duration must be more than zero")
        return now + timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SettingError(
            f"--expires must be a date or time like 2027-01-31 or 2027-01-31T12:00Z, a duration "
            f"like 30d, 12h or 90m, or never (got {text!r})"
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment <= now:
        raise SettingError(f"--expires: {value} is in the past; give a future time")
    return moment


def parse_weight(text: str) -> int:
    try:
        weight = int(text.strip())
    except ValueError:
        weight = 0
    if not 1 <= weight <= MAX_WEIGHT:
        raise SettingError(f"--weight must be a whole number from 1 to {MAX_WEIGHT} (got {text!r})")
    return weight
