"""Wake-ups between ``serve`` and its worker child process, over one duplex pipe.

API process -> child: ``ENQUEUED`` (a job was queued: idle slots claim it now instead of at
their next poll) and ``("cancel", job_id)`` (the running job stops within a step). Child -> API
process: ``EVENTS`` (job events were committed: event streams and webhook dispatchers wake),
``("engine", "loaded" | "failed", error)`` (for ``/readyz``), ``RECLAIMED`` and ``METRIC``
(for ``/metrics``). On PostgreSQL the same wake-ups also arrive by NOTIFY; the relay makes SQLite
as immediate, and is harmless next to NOTIFY.

Each side relays only what the other side acts on (the API process listens for enqueue and
cancel, the child for events), so a relayed message is never sent back: no echo loops.
"""

from __future__ import annotations

import logging
import queue
import threading
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

ENQUEUED = "enqueued"
EVENTS = "events"
CANCEL = "cancel"
ENGINE = "engine"
RECLAIMED = "reclaimed"
"""Child -> API process: ``("reclaimed", bytes)``, the bytes of dead attempts' render
directories the child's sweeper removed so far (for ``/metrics``)."""

METRIC = "metric"
"""Child -> API process: ``("metric", name, labels as JSON, value)``, one observation of the
child's job histograms, observed again by the server so its ``/metrics`` has them."""

Message = str | tuple[str, ...]


class PipeOutbox:
    """Sends messages on one end of a pipe from its own thread, so the threads that post them
    (request handlers, the store right after a commit) never block on a slow or gone peer."""

    def __init__(self, conn: Connection, name: str) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._gone = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def post(self, message: Message) -> None:
        if not self._gone.is_set():
            self._queue.put(message)

    def close(self) -> None:
        """Send what is queued, then stop (the connection itself stays open)."""
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                # The peer exited (or is restarting): drop this and everything after it; the
                # database is the source of truth and the next peer polls it on start.
                self._gone.set()
                return
