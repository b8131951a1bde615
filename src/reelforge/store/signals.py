"""In-process wake-ups: enqueue wakes idle workers, cancel reaches the running job at once,
recorded job events wake event streams and webhook dispatchers.

The database stays the source of truth; these only shorten waits. Across processes the same
events travel as PostgreSQL NOTIFY (see ``pg_listener``), and between ``serve`` and its worker
child process over a pipe (``on_enqueue``/``on_cancel``/``on_events`` feed the relay in
``reelforge.worker.relay``); polling is the safety net.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

CancelListener = Callable[[str], None]
Listener = Callable[[], None]


class Signals:
    def __init__(self) -> None:
        self._work = threading.Condition()
        self._generation = 0
        self._events = threading.Condition()
        self._events_generation = 0
        self._cancel_listeners: list[CancelListener] = []
        self._enqueue_listeners: list[Listener] = []
        self._events_listeners: list[Listener] = []
        self._lock = threading.Lock()

    def job_enqueued(self) -> None:
        with self._work:
            self._generation += 1
            self._work.notify_all()
        self._call(self._enqueue_listeners)

    def work_mark(self) -> int:
        """Take before looking for work; pass to ``wait_for_work`` so no wake-up slips between."""
        with self._work:
            return self._generation

    def wait_for_work(self, mark: int, timeout: float) -> bool:
        """Block until a ``job_enqueued`` after ``mark`` or ``timeout``; True when woken."""
        with self._work:
            return self._work.wait_for(lambda: self._generation != mark, timeout)

    def events_recorded(self) -> None:
        """Job events were committed (here, or in another process: relayed by NOTIFY)."""
        with self._events:
            self._events_generation += 1
            self._events.notify_all()
        self._call(self._events_listeners)

    def events_mark(self) -> int:
        with self._events:
            return self._events_generation

    def wait_for_events(self, mark: int, timeout: float) -> bool:
        """Block until an ``events_recorded`` after ``mark`` or ``timeout``; True when woken."""
        with self._events:
            return self._events.wait_for(lambda: self._events_generation != mark, timeout)

    def on_enqueue(self, listener: Listener) -> None:
        """Call ``listener`` after every ``job_enqueued`` (relays to a worker child process)."""
        with self._lock:
            self._enqueue_listeners.append(listener)

    def on_events(self, listener: Listener) -> None:
        """Call ``listener`` after every ``events_recorded`` (relays to the API process)."""
        with self._lock:
            self._events_listeners.append(listener)

    def _call(self, listeners: list[Listener]) -> None:
        with self._lock:
            current = list(listeners)
        for listener in current:
            listener()

    def on_cancel(self, listener: CancelListener) -> None:
        with self._lock:
            self._cancel_listeners.append(listener)

    def cancel_requested(self, job_id: str) -> None:
        with self._lock:
            listeners = list(self._cancel_listeners)
        for listener in listeners:
            listener(job_id)
