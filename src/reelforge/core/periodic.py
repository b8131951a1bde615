"""A daemon thread that runs one task every N seconds until stopped (heartbeats, sweepers)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicThread:
    """Calls ``task`` every ``interval`` seconds; a failure of a kind in ``retry_on`` is logged
    and the task runs again at the next tick (the database may be back by then)."""

    def __init__(
        self,
        name: str,
        interval: float,
        task: Callable[[], object],
        retry_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.name = name
        self.interval = interval
        self._task = task
        self._retry_on = retry_on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._task()
            except self._retry_on as exc:
                log.warning("%s failed (%s); retrying in %.1f s", self.name, exc, self.interval)
