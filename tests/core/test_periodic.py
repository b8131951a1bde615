"""A periodic thread outlives a failing round: the database kind is retried quietly, anything
else is logged in full, and the next tick runs either way."""

from __future__ import annotations

import threading

import pytest

from reelforge.core.periodic import PeriodicThread
from tests.support.wait import wait_for


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.succeeded = threading.Event()

    def __call__(self) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.succeeded.set()


def test_it_keeps_running_after_expected_and_unexpected_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = Flaky([ConnectionError("gone\nsecond line"), ValueError("a bug")])
    thread = PeriodicThread("flaky", 0.01, task, retry_on=(ConnectionError,))
    thread.start()
    try:
        wait_for(task.succeeded.is_set, timeout=30)
    finally:
        thread.stop()
    warning, error = (r for r in caplog.records if r.name == "reelforge.core.periodic")
    assert warning.getMessage() == "flaky failed (gone); retrying in 0.0 s"
    assert error.exc_info is not None and "a bug" in str(error.exc_info[1])
