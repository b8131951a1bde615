"""The retry schedule (SECURITY.md "Webhooks"): attempts at +0, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 14 h, 20 h and 24 h from the event, each moved by the jitter, in order, then give up;
late attempts skip the slots they passed; ``Retry-After`` is honoured up to the last slot."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from reelforge.notify.retry import RetryPolicy

T0 = datetime(2026, 12, 1, tzinfo=UTC)
OFFSETS = [0, 5, 300, 1800, 7200, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600]
"""Seconds from the event to attempts 1..10, as SECURITY.md lists them."""


def attempt_times(policy: RetryPolicy) -> list[float]:
    """Seconds after the event of every attempt, when every attempt fails at once."""
    times, now, failures = [0.0], T0, 1
    while (at := policy.next_attempt(T0, failures, now)) is not None:
        assert at >= now, "an attempt is never scheduled in the past"
        times.append((at - T0).total_seconds())
        now, failures = at, failures + 1
    return times


def test_without_jitter_the_attempts_are_at_the_standard_offsets_then_it_gives_up() -> None:
    assert attempt_times(RetryPolicy(jitter=0.0)) == OFFSETS
    assert RetryPolicy(jitter=0.0).next_attempt(T0, 10, T0 + timedelta(hours=24)) is None


@pytest.mark.parametrize(("pick", "sign"), [(0.0, -1), (1.0, 1)], ids=["earliest", "latest"])
def test_each_attempt_moves_by_at_most_a_fifth_of_the_gap_before_it(pick: float, sign: int) -> None:
    times = attempt_times(RetryPolicy(random=functools.partial(float, pick)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(OFFSETS)]
    expected = [0.0] + [at + sign * 0.2 * gap for at, gap in zip(OFFSETS[1:], gaps, strict=True)]
    expected[-1] = OFFSETS[-1] + (0.2 * gaps[-1] if sign > 0 else 0.0)  # the last: only later
    assert times == pytest.approx(expected)


@pytest.mark.parametrize("pick", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_ten_attempts_in_order_spanning_at_least_24_hours(pick: float) -> None:
    times = attempt_times(RetryPolicy(random=functools.partial(float, pick)))
    assert len(times) == 10 and times == sorted(times)
    assert 24 * 3600 <= times[-1] <= 24.8 * 3600


def test_a_late_attempt_skips_the_slots_it_passed() -> None:
    policy = RetryPolicy(jitter=0.0)
    # A dispatcher that was down for 10 hours makes attempt 2 late: attempt 3 is at +14 h, not
    # five quick catch-up attempts.
    late = T0 + timedelta(hours=10, seconds=1)
    assert policy.next_attempt(T0, 1, late) == T0 + timedelta(hours=14)
    # A replayed delivery past the schedule gets its one attempt, then fails again.
    assert policy.next_attempt(T0, 10, T0 + timedelta(hours=30)) is None
    assert policy.next_attempt(T0, 11, T0 + timedelta(hours=1)) is None


def test_retry_after_delays_the_next_attempt_but_never_brings_it_forward() -> None:
    policy = RetryPolicy(jitter=0.0)
    after_first = T0 + timedelta(seconds=1)
    assert policy.next_attempt(T0, 1, after_first, retry_after=120) == after_first + timedelta(
        seconds=120
    )
    # Asking for less than the schedule's wait changes nothing.
    assert policy.next_attempt(T0, 1, after_first, retry_after=2) == T0 + timedelta(seconds=5)
    assert policy.next_attempt(T0, 1, after_first, retry_after=0) == T0 + timedelta(seconds=5)
    # The slots the wait passed are skipped: after an attempt at +3 h the next is at +5 h.
    three_hours = T0 + timedelta(hours=3)
    assert policy.next_attempt(T0, 3, three_hours) == T0 + timedelta(hours=5)


def test_retry_after_past_the_schedule_makes_the_last_attempt_at_its_end() -> None:
    policy = RetryPolicy(jitter=0.0)
    now = T0 + timedelta(minutes=6)
    at = policy.next_attempt(T0, 3, now, retry_after=2 * 86400)
    assert at == T0 + timedelta(hours=24)
    assert policy.next_attempt(T0, 4, at + timedelta(seconds=1)) is None  # that was the last
