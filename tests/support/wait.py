"""The one polling helper: wait for a condition another thread or process will make true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 90.0, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail after
    ``timeout`` seconds, naming the condition."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            name = getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"condition {name} not met within {timeout} s")
        time.sleep(interval)
