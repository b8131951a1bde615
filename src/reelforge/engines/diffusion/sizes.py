"""Memory sizes as people write them (``80GiB``, ``141 GB``) and as the plan prints them."""

from __future__ import annotations

import re
from typing import Final

GIB: Final = 1024**3
_SIZE_PATTERN: Final = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS: Final = {
    **{"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4},
    **{"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4},
}


def parse_size(text: str) -> int:
    """``80GiB``, ``141 GB``, ``512MiB`` or plain bytes -> bytes (GB = 10^9, GiB = 2^30)."""
    match = _SIZE_PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a memory size; write it like 80GiB or 141GB")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").lower()])


def gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"
