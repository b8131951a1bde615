"""When a failed delivery is tried again: the Standard Webhooks schedule, with jitter.

The schedule gives each attempt's time measured from the event (the delivery's creation):
attempt 1 at once, then +5 s, +5 min, +30 min, +2 h, +5 h, +10 h, +14 h, +20 h and +24 h: ten
attempts spanning 24 hours. After the tenth failure the delivery is failed (it can be replayed).

Each attempt's time is moved by up to +-20% of the gap before it (so receivers coming back up
are not hit by every sender at once); the last one only later, never earlier, so retries always
span at least 24 h. A next attempt is never earlier than now, so attempts stay in order.

An attempt that is late (a dispatcher was down, or the receiver's ``Retry-After`` asked for a
later time) does not cause a burst of catch-up attempts: the next attempt takes the first slot
of the schedule still ahead, so a delivery makes at most ten attempts and never outlives the
schedule. ``Retry-After`` is honoured up to the last slot: when it points past the schedule's
end, the last attempt is made at the end.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

_MINUTE: Final = 60.0
_HOUR: Final = 3600.0
# fmt: off
STANDARD_SCHEDULE: Final = (
    0.0, 5.0, 5 * _MINUTE, 30 * _MINUTE, 2 * _HOUR, 5 * _HOUR, 10 * _HOUR, 14 * _HOUR,
    20 * _HOUR, 24 * _HOUR,
)
# fmt: on
"""Seconds from the event to attempt 1, 2, ... 10 (SECURITY.md, "Webhooks")."""


@dataclass(frozen=True)
class RetryPolicy:
    offsets: Sequence[float] = STANDARD_SCHEDULE
    """Seconds from the event to each attempt; ascending, the first one 0."""
    jitter: float = 0.2
    """Each attempt moves by up to this fraction of the gap before it."""
    random: Callable[[], float] = field(default=random.random, compare=False)

    @property
    def span(self) -> timedelta:
        """The nominal time from the event to the last attempt."""
        return timedelta(seconds=self.offsets[-1])

    def next_attempt(
        self,
        created_at: datetime,
        failures: int,
        now: datetime,
        retry_after: float | None = None,
    ) -> datetime | None:
        """When to try again after ``failures`` failed attempts of a delivery created at
        ``created_at``, the last one ending ``now``; ``retry_after`` is the seconds the
        receiver asked to wait. None when the schedule is used up (give up)."""
        slot = self._next_slot(created_at, failures, now)
        if slot is None:
            return None
        at = max(self._jittered(created_at, slot), now)
        if retry_after is not None and retry_after > 0:
            asked = now + timedelta(seconds=retry_after)
            at = max(at, min(asked, created_at + self.span))
        return at

    def _next_slot(self, created_at: datetime, failures: int, now: datetime) -> int | None:
        """The index of the next attempt's slot: after the ``failures`` used ones, and the
        first whose time is still ahead (a late attempt skips the slots it passed)."""
        elapsed = (now - created_at).total_seconds()
        ahead = next((i for i, at in enumerate(self.offsets) if at > elapsed), len(self.offsets))
        slot = max(failures, ahead)
        return slot if slot < len(self.offsets) else None

    def _jittered(self, created_at: datetime, slot: int) -> datetime:
        gap = self.offsets[slot] - self.offsets[slot - 1] if slot > 0 else 0.0
        last = slot == len(self.offsets) - 1
        shift = self.random() if last else 2.0 * self.random() - 1.0  # the last: only later
        return created_at + timedelta(seconds=self.offsets[slot] + gap * self.jitter * shift)
