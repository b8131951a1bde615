"""Clocks tests move by hand: ``FakeClock`` for the stores and the Runtime
(``Runtime.open(clock=...)``), ``FakeMonotonic`` for caches timed with ``time.monotonic``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class FakeClock:
    """Callable like ``utcnow``; time stands still until ``advance`` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


class FakeMonotonic:
    """Callable like ``time.monotonic``: the seconds a ``FakeClock`` has been advanced."""

    def __init__(self, start: float = 1000.0) -> None:
        self._clock = FakeClock()
        self._epoch = self._clock()
        self._start = start

    def __call__(self) -> float:
        return self._start + (self._clock() - self._epoch).total_seconds()

    def advance(self, seconds: float) -> float:
        self._clock.advance(seconds)
        return self()
