"""PostgreSQL LISTEN/NOTIFY bridged into in-process ``Signals``.

Another process's enqueue (``reelforge_jobs``) wakes this process's idle workers at once, and
another process's cancel (``reelforge_cancel``, payload = job id) reaches the running job,
and another process's job events (``reelforge_events``) wake event streams and dispatchers.
If the connection drops, the listener reconnects; workers still poll meanwhile.
"""

from __future__ import annotations

import logging
import threading

import psycopg
import sqlalchemy as sa

from reelforge.store.db import PG_CONNECT_ARGS
from reelforge.store.signals import Signals

log = logging.getLogger(__name__)
CHANNELS = ("reelforge_jobs", "reelforge_cancel", "reelforge_events")


class PgListener:
    def __init__(self, engine: sa.Engine, signals: Signals) -> None:
        url = engine.url.set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._signals = signals
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); reconnecting; polling continues", exc)
                self._stop.wait(2.0)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True, **PG_CONNECT_ARGS) as conn:
            for channel in CHANNELS:
                conn.execute(f"LISTEN {channel}")
            while not self._stop.is_set():
                # A short wait: stop() (every Runtime.close) returns within it.
                for note in conn.notifies(timeout=0.1):
                    self._dispatch(note.channel, note.payload)

    def _dispatch(self, channel: str, payload: str) -> None:
        if channel == "reelforge_jobs":
            self._signals.job_enqueued()
        elif channel == "reelforge_cancel" and payload:
            self._signals.cancel_requested(payload)
        elif channel == "reelforge_events":
            self._signals.events_recorded()
