"""Runtime: the live objects built from Settings, opened once per process.

``Runtime.open`` is the one start-up path: ``serve`` passes its runtime to the app and the
workers, ``worker`` to the workers, ``generate`` and ``keys`` use theirs directly. It is also
where bad configuration is caught: an unknown engine, an unwritable data directory, a blob
store that cannot be written (a missing bucket, refused credentials, an unreachable endpoint)
or an unreachable database each fail with one line that says what to fix, and nothing is
created on disk before the settings have been checked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from reelforge.core.config import Settings
from reelforge.domain.errors import ConfigError
from reelforge.engines.base import engine_factory, engine_names
from reelforge.storage.base import BlobStore
from reelforge.storage.factory import open_blob_store
from reelforge.store.database import Database
from reelforge.store.idempotency import IdempotencyStore
from reelforge.store.jobs import Clock, JobStore
from reelforge.store.keys import KeyStore
from reelforge.store.queue import WorkQueue
from reelforge.store.signals import Signals
from reelforge.store.types import utcnow
from reelforge.store.webhooks import WebhookStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    blobs: BlobStore

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utcnow) -> Runtime:
        """Check the settings, then open the blob store and the database (migrated to head).

        ``clock``: the time source for every row written (tests pass a fake clock).
        """
        check_engine_name(settings)
        ensure_data_dir(settings)
        blobs = open_blob_store(settings)
        blobs.check_writable()
        database = Database.open(
            settings.resolved_database_url,
            clock=clock,
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        )
        return cls(settings, database, blobs)

    @property
    def store(self) -> JobStore:
        return self.database.jobs

    @property
    def queue(self) -> WorkQueue:
        return self.database.queue

    @property
    def keys(self) -> KeyStore:
        return self.database.keys

    @property
    def idempotency(self) -> IdempotencyStore:
        return self.database.idempotency

    @property
    def webhooks(self) -> WebhookStore:
        return self.database.webhooks

    @property
    def signals(self) -> Signals:
        return self.database.signals

    def close(self) -> None:
        self.database.close()


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
