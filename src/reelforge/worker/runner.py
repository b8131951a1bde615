"""Worker: claims jobs with leases and runs them on the configured engine.

``start()`` runs ``worker_concurrency`` slot threads plus one heartbeat and one sweeper thread;
``stop()`` stops claiming, lets running jobs finish for the grace period, then releases them
back to the queue. ``run_until_idle()`` is the synchronous form used by ``generate`` and tests.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from reelforge.core.logs import install_record_context
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineLoadError
from reelforge.engines.base import Engine, create_engine
from reelforge.store.database import DatabaseError, describe
from reelforge.worker.control import RunControl
from reelforge.worker.execute import JobExecutor
from reelforge.worker.heartbeat import Heartbeat
from reelforge.worker.leftovers import LeftoverSweeper
from reelforge.worker.metrics import WorkerMetrics, serve_worker_metrics
from reelforge.worker.presence import WorkerPresence
from reelforge.worker.sweeper import Sweeper

log = logging.getLogger(__name__)
ENGINE_RETRY_SECONDS = 30.0


class Worker:
    def __init__(self, runtime: Runtime, engine: Engine | None = None) -> None:
        settings = runtime.settings
        self.settings = settings
        self.runtime = runtime
        self.engine = engine or create_engine(settings)
        self.worker_id = settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"
        queue = self.runtime.queue
        self.heartbeat = Heartbeat(
            queue, settings.heartbeat_seconds, settings.lease_seconds, settings.progress_seconds
        )
        self.leftovers = LeftoverSweeper(
            settings.data_dir / "tmp", self._own_leases, self.runtime.store.get_jobs
        )
        self.sweeper = Sweeper(
            queue, settings.sweep_seconds, settings.max_attempts, leftovers=self.leftovers
        )
        self.metrics = WorkerMetrics()
        self.executor = JobExecutor(self.runtime, self.engine, self.metrics)
        self.presence = WorkerPresence(
            runtime.database.workers,
            self.worker_id,
            self.engine,
            settings.worker_concurrency,
            settings.heartbeat_seconds,
            running=lambda: len(self.heartbeat.runs()),
        )
        self.engine_error: str | None = None
        self._engine_loaded = threading.Event()
        # Slots share one engine: one of them loads it, the others wait for that attempt.
        self._load_lock = threading.Lock()
        self._load_attempts = 0
        self._stopping = threading.Event()
        self._slots: list[threading.Thread] = []
        self.runtime.signals.on_cancel(self._relay_cancel)
        install_record_context()  # log lines name the job they are about

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._engine_loaded.is_set()

    def load_engine(self) -> bool:
        """Load the model once per process; on failure record why and claim nothing.

        Under a lock: slots that ask while another slot loads wait for that attempt and share
        its outcome instead of loading (or failing) again. Any exception is a load failure.
        """
        if self._engine_loaded.is_set():
            return True
        seen = self._load_attempts
        with self._load_lock:
            if self._engine_loaded.is_set():
                return True
            if self._load_attempts != seen:  # another slot tried while we waited, and failed
                return False
            self._load_attempts += 1
            return self._load_engine_now()

    def _load_engine_now(self) -> bool:
        try:
            self.engine.load()
        except Exception as exc:
            if not isinstance(exc, EngineLoadError):
                log.exception("engine %s: unexpected error while loading", self.engine.name)
            self.engine_error = str(exc) or type(exc).__name__
            self.presence.set_state("failed", self.engine_error)
            log.error(
                "engine %s cannot load: %s; this worker claims no jobs until it can",
                self.engine.name,
                exc,
            )
            return False
        self.engine_error = None
        self.presence.set_state("loaded")  # first: /readyz may count this worker once ready
        self._engine_loaded.set()
        log.info("engine ready: %s", self.engine.describe())
        return True

    @property
    def tmp_reclaimed_bytes(self) -> int:
        """Bytes of dead attempts' render directories removed since this worker started."""
        return self.leftovers.reclaimed_bytes

    def start(self) -> None:
        serve_worker_metrics(self.engine, self.metrics, self.settings.worker_metrics_port)
        self.presence.start()
        self.sweeper.sweep_leftovers()  # a crash's leftovers go now, not at the first tick
        self.heartbeat.start()
        self.sweeper.start()
        for index in range(self.settings.worker_concurrency):
            slot = threading.Thread(target=self._slot_loop, name=f"slot-{index}", daemon=True)
            slot.start()
            self._slots.append(slot)
        log.info(
            "worker %s started: engine=%s concurrency=%d",
            self.worker_id,
            self.settings.engine,
            self.settings.worker_concurrency,
        )

    def stop(self, grace: float | None = None) -> None:
        """Stop claiming; wait ``grace`` seconds for running jobs, then release them."""
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        self._stopping.set()
        self.runtime.signals.job_enqueued()  # wake idle slots so they see the stop flag
        deadline = time.monotonic() + grace
        for slot in self._slots:
            slot.join(timeout=max(0.0, deadline - time.monotonic()))
        for run in self._running():
            log.warning("job %s: shutdown grace over; releasing it to the queue", run.job_id)
            run.release()
        for slot in self._slots:
            slot.join(timeout=30)
        self.heartbeat.stop()
        self.sweeper.stop()
        self.presence.stop()

    def run_until_idle(self) -> int:
        """Run queued jobs in this thread until none is left; returns how many ran."""
        if not self.load_engine():
            raise EngineLoadError(self.engine_error or "engine failed to load")
        self.heartbeat.start()
        ran = 0
        try:
            while self._claim_and_run():
                ran += 1
        finally:
            self.heartbeat.stop()
        return ran

    # -- internals -----------------------------------------------------------------------------

    def _slot_loop(self) -> None:
        while not self._stopping.is_set():
            if not self.load_engine():
                self._stopping.wait(ENGINE_RETRY_SECONDS)
                continue
            mark = self.runtime.signals.work_mark()
            try:
                worked = self._claim_and_run()
            except DatabaseError as exc:
                log.warning("claim failed (%s); retrying", describe(exc))
                worked = False
            except Exception:
                # A slot must outlive any one job; the lease (if any) expires and is swept.
                log.exception("worker slot error; continuing")
                worked = False
            if not worked and not self._stopping.is_set():
                self.runtime.signals.wait_for_work(mark, self.settings.poll_seconds)

    def _claim_and_run(self) -> bool:
        if self._stopping.is_set():
            return False
        lease = self.runtime.queue.claim(
            self.worker_id,
            self.settings.lease_seconds,
            default_max_running=self.settings.default_max_running,
        )
        if lease is None:
            return False
        queue = self.runtime.queue
        control = RunControl(lease, self.runtime.store.is_cancel_requested, queue.save_engine_state)
        self.heartbeat.track(control)
        try:
            self.executor.run(lease, control)
        finally:
            self.heartbeat.untrack(control)
        return True

    def _own_leases(self) -> set[str]:
        return {run.lease.token for run in self.heartbeat.runs()}

    def _running(self) -> list[RunControl]:
        return self.heartbeat.runs()

    def _relay_cancel(self, job_id: str) -> None:
        run = self.heartbeat.get(job_id)
        if run is not None:
            run.cancel()
