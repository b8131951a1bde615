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
                # One line: a database driver's message goes on with the SQL and parameters.
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                log.warning("%s failed (%s); retrying in %.1f s", self.name, first, self.interval)
            except Exception:
                # A bug in one round must not end the thread (no more heartbeats, no sweeps).
                log.exception("%s failed; retrying in %.1f s", self.name, self.interval)
