"""WorkerPresence: this worker process's row in the worker registry, renewed every heartbeat.

The row says who the worker is (name, host, pid), what its engine is doing (loading, loaded,
failed with the error, stopped), how many jobs it runs and, when the engine uses a GPU, that
GPU's memory. A state change is written at once; the rest every ``heartbeat_seconds``. A write
that fails (the database is away) is tried again at the next beat: presence never stops work.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace

from reelforge.core.periodic import PeriodicThread
from reelforge.engines.base import Engine
from reelforge.store.database import DatabaseError, describe
from reelforge.store.workers import GpuMemory, WorkerRecord, WorkerRegistry, WorkerState

log = logging.getLogger(__name__)


class WorkerPresence:
    def __init__(
        self,
        registry: WorkerRegistry,
        name: str,
        engine: Engine,
        concurrency: int,
        interval: float,
        running: Callable[[], int],
    ) -> None:
        self._registry = registry
        self._generator = engine
        self._running = running
        self._lock = threading.Lock()
        self._started = False
        self._failing = False
        now = registry.clock()
        self._record = WorkerRecord(
            id=secrets.token_hex(16),
            name=name,
            host=socket.gethostname(),
            pid=os.getpid(),
            engine=engine.name,
            state="loading",
            started_at=now,
            last_seen=now,
            concurrency=concurrency,
        )
        self._thread = PeriodicThread("presence", interval, self.beat)

    @property
    def id(self) -> str:
        return self._record.id

    def start(self) -> None:
        """Register this worker and renew its row from now on."""
        with self._lock:
            self._started = True
            record = self._snapshot()
        self._write(self._registry.register, record)
        self._thread.start()

    def stop(self) -> None:
        """Say the worker stopped on purpose (it is not 'gone' then, just stopped)."""
        self._thread.stop()
        self.set_state("stopped")
        with self._lock:
            self._started = False

    def set_state(self, state: WorkerState, error: str | None = None) -> None:
        with self._lock:
            self._record = replace(self._record, state=state, error=error)
            record = self._snapshot() if self._started else None
        if record is not None:
            self._write(self._registry.report, record)

    def beat(self) -> None:
        with self._lock:
            record = self._snapshot() if self._started else None
        if record is not None:
            self._write(self._registry.report, record)

    def _snapshot(self) -> WorkerRecord:
        facts = _facts(self._generator)
        self._record = replace(
            self._record,
            last_seen=self._registry.clock(),
            running=self._running(),
            facts=facts,
            models=models_of(facts),
            gpu=gpu_memory(),
        )
        return self._record

    def _write(self, action: Callable[[WorkerRecord], None], record: WorkerRecord) -> None:
        """Write the row; an outage is logged once, not at every beat until it ends."""
        try:
            action(record)
        except DatabaseError as exc:
            if not self._failing:
                log.warning("worker registry not updated (%s); trying again", describe(exc))
            self._failing = True
            return
        if self._failing:
            log.info("worker registry updated again")
        self._failing = False


def _facts(engine: Engine) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in engine.describe().items()}
    except Exception as exc:  # an engine's describe() must not stop the heartbeat
        return {"describe_error": str(exc)}


def models_of(facts: Mapping[str, str]) -> tuple[str, ...]:
    """The models an engine serves, from its ``describe()``: its model, or its upstreams."""
    if facts.get("model"):
        return (facts["model"],)
    return tuple(key.removeprefix("upstream.") for key in facts if key.startswith("upstream."))


def gpu_memory() -> GpuMemory | None:
    """The current CUDA device's memory, when this process already uses CUDA: never imports
    torch nor creates a CUDA context just to ask."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
            return None
        device = torch.cuda.current_device()
        free, total = torch.cuda.mem_get_info(device)
        return GpuMemory(str(torch.cuda.get_device_name(device)), int(total - free), int(total))
    except Exception:  # a driver error here is not the heartbeat's business
        return None
