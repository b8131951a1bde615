"""Runtime: the live objects built from Settings (database, queue, blobs, wake-ups).

``Runtime.open`` is where bad configuration is caught at start: an unwritable data directory,
an unreachable database or an unknown engine each fail with one line that says what to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from reelforge.config import Settings
from reelforge.domain.errors import ConfigError
from reelforge.engines.base import engine_factory, engine_names
from reelforge.storage.local import LocalBlobStore
from reelforge.store.db import check_connection, create_db_engine, migrate
from reelforge.store.jobs import JobStore
from reelforge.store.pg_listener import PgListener
from reelforge.store.queue import WorkQueue
from reelforge.store.signals import Signals

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: sa.Engine
    store: JobStore
    queue: WorkQueue
    blobs: LocalBlobStore
    signals: Signals
    _listener: PgListener | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        check_engine_name(settings)
        ensure_data_dir(settings)
        blobs = LocalBlobStore(settings.resolved_media_dir)
        blobs.check_writable()
        db = create_db_engine(settings.resolved_database_url)
        check_connection(db)
        migrate(db)
        signals = Signals()
        store = JobStore(db, signals)
        listener = None
        if db.dialect.name == "postgresql":
            listener = PgListener(db, signals)
            listener.start()
        return cls(settings, db, store, WorkQueue(store), blobs, signals, listener)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.db.dispose()


def check_engine_name(settings: Settings) -> None:
    """Unknown names fail here; a registered engine's heavy imports still wait for load()."""
    if settings.engine not in engine_names():
        engine_factory(settings.engine)  # imports a plugin path, or raises UnknownEngine


def ensure_data_dir(settings: Settings) -> None:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"data directory {path} is not writable ({exc.strerror or exc}); "
            "set REELFORGE_DATA_DIR to a directory you can write"
        ) from None
