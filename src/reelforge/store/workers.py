"""WorkerRegistry: which worker processes exist, what their engines are doing, when each was
last seen.

Every worker process upserts its row every heartbeat (``reelforge.worker.presence``), so any API
replica can tell whether queued jobs have someone to run them (``/readyz``) and show the fleet
(``/v1/admin/status``) without talking to the workers. Rows of processes not seen for a day are
pruned when a worker registers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from reelforge.store.db import WRITE
from reelforge.store.jobs import Clock
from reelforge.store.tables import workers
from reelforge.store.types import utcnow

WorkerState = Literal["loading", "loaded", "failed", "stopped"]
FORGET_AFTER = timedelta(days=1)
"""Rows of workers not seen for this long are deleted (at the next registration)."""


@dataclass(frozen=True, slots=True)
class GpuMemory:
    device: str
    used_bytes: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """One worker process as it reports itself."""

    id: str
    name: str
    host: str
    pid: int
    engine: str
    state: WorkerState
    started_at: datetime
    last_seen: datetime
    models: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    concurrency: int = 1
    running: int = 0
    gpu: GpuMemory | None = None

    def alive(self, now: datetime, stale_after: timedelta) -> bool:
        """Seen recently enough, and not stopped on purpose."""
        return self.state != "stopped" and now - self.last_seen <= stale_after

    def can_run_jobs(self, now: datetime, stale_after: timedelta) -> bool:
        return self.alive(now, stale_after) and self.state == "loaded"


class WorkerRegistry:
    def __init__(self, engine: sa.Engine, clock: Clock = utcnow) -> None:
        self._engine = engine
        self.clock = clock

    def register(self, record: WorkerRecord) -> None:
        """Insert the row of a starting worker; forget workers gone for a day."""
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(workers.delete().where(workers.c.last_seen < self.clock() - FORGET_AFTER))
            conn.execute(workers.insert().values(**_values(record)))

    def report(self, record: WorkerRecord) -> None:
        """Update the worker's row (inserting it again if it was pruned or never written)."""
        values = _values(record)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            updated = conn.execute(
                workers.update().where(workers.c.id == record.id).values(**values)
            )
            if updated.rowcount == 0:
                conn.execute(workers.insert().values(**values))

    def list(self, seen_since: datetime | None = None) -> list[WorkerRecord]:
        """Workers seen since ``seen_since`` (all by default), most recently started first."""
        query = sa.select(workers).order_by(workers.c.started_at.desc(), workers.c.id)
        if seen_since is not None:
            query = query.where(workers.c.last_seen >= seen_since)
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).mappings().all()]


def _values(record: WorkerRecord) -> dict[str, Any]:
    gpu = record.gpu
    return {
        "id": record.id,
        "name": record.name[:255],
        "host": record.host[:255],
        "pid": record.pid,
        "engine": record.engine[:64],
        "models": json.dumps(list(record.models)),
        "facts": json.dumps(dict(record.facts)),
        "state": record.state,
        "error": record.error,
        "concurrency": record.concurrency,
        "running": record.running,
        "gpu": None
        if gpu is None
        else json.dumps(
            {"device": gpu.device, "used_bytes": gpu.used_bytes, "total_bytes": gpu.total_bytes}
        ),
        "started_at": record.started_at,
        "last_seen": record.last_seen,
    }


def _record(row: sa.RowMapping) -> WorkerRecord:
    gpu = json.loads(row["gpu"]) if row["gpu"] else None
    memory = (
        None if gpu is None else GpuMemory(gpu["device"], gpu["used_bytes"], gpu["total_bytes"])
    )
    return WorkerRecord(
        id=row["id"],
        name=row["name"],
        host=row["host"],
        pid=int(row["pid"]),
        engine=row["engine"],
        state=row["state"],
        started_at=row["started_at"],
        last_seen=row["last_seen"],
        models=tuple(json.loads(row["models"] or "[]")),
        facts=json.loads(row["facts"] or "{}"),
        error=row["error"],
        concurrency=int(row["concurrency"]),
        running=int(row["running"]),
        gpu=memory,
    )
