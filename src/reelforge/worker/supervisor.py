"""WorkerSupervisor: ``serve``'s embedded workers in one child process, kept running.

The server's interpreter then only serves HTTP: rendering, encoding and the engine's host-side
work never hold its GIL, and GPU libraries are imported in the child only. The supervisor

- starts the child (``reelforge.worker.child.run_child``, spawned, never forked: the server has
  threads and database connections) with the server's settings and one end of a pipe;
- relays wake-ups over that pipe (``reelforge.worker.relay``) and keeps the child's engine
  state for ``/readyz`` (``ready``, ``engine_error``, like an in-process ``Worker``) and its
  job histograms for ``/metrics`` (``metrics``, like an in-process ``Worker``'s);
- restarts a child that exits unexpectedly, after 1 s doubling to 60 s (back to 1 s once a
  child has run 60 s). Its running job's lease expires and the new child's sweeper requeues it;
- on ``stop()`` sends SIGTERM, waits ``shutdown_grace_seconds`` plus a margin for the child to
  finish or release its jobs, then SIGKILLs it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from reelforge.core.config import Settings
from reelforge.store.signals import Signals
from reelforge.worker.child import run_child
from reelforge.worker.metrics import WorkerMetrics
from reelforge.worker.relay import (
    CANCEL,
    ENGINE,
    ENQUEUED,
    EVENTS,
    METRIC,
    RECLAIMED,
    Message,
    PipeOutbox,
)

log = logging.getLogger(__name__)
STOP_MARGIN_SECONDS = 10.0
"""Beyond the grace: time for the child to release its jobs, close the database and exit."""


class RestartBackoff:
    """Delays between restarts: ``first`` doubling to ``cap``; reset after a long enough run."""

    def __init__(self, first: float = 1.0, cap: float = 60.0, reset_after: float = 60.0) -> None:
        self.first, self.cap, self.reset_after = first, cap, reset_after
        self._next = first

    def delay_after(self, ran_seconds: float) -> float:
        if ran_seconds >= self.reset_after:
            self._next = self.first
        delay = self._next
        self._next = min(self.cap, delay * 2)
        return delay


class WorkerSupervisor:
    def __init__(self, settings: Settings, signals: Signals) -> None:
        self.settings = settings
        self.engine_error: str | None = None
        self.restarts = 0
        self.metrics = WorkerMetrics()
        """The child's job histograms, observed here as the child relays them."""
        self._signals = signals
        self._spawn = multiprocessing.get_context("spawn")
        self._values = settings.model_dump(mode="json")
        self._backoff = RestartBackoff()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._ready = False
        self._reclaimed_before = 0  # by children that exited
        self._reclaimed_now = 0  # by the running child
        self._process: BaseProcess | None = None
        self._outbox: PipeOutbox | None = None
        self._thread = threading.Thread(target=self._supervise, name="worker-supervisor")
        self._thread.daemon = True
        signals.on_enqueue(lambda: self._post(ENQUEUED))
        signals.on_cancel(lambda job_id: self._post((CANCEL, job_id)))

    @property
    def ready(self) -> bool:
        """The child's engine is loaded (False while a child starts or restarts)."""
        return self._ready

    @property
    def tmp_reclaimed_bytes(self) -> int:
        """Bytes of dead attempts' render directories the children removed, all together."""
        return self._reclaimed_before + self._reclaimed_now

    @property
    def pid(self) -> int | None:
        """The running child's pid, if one runs."""
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """SIGTERM the child; SIGKILL it if it has not exited after the grace and a margin."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None:
            # Only the supervising thread reaps the child (join); here we wait on its sentinel.
            grace = self.settings.shutdown_grace_seconds
            log.info("stopping worker process %s (running jobs get %.0f s)", process.pid, grace)
            process.terminate()
            if not wait([process.sentinel], grace + STOP_MARGIN_SECONDS):
                log.warning("worker process %s did not exit in time; killing it", process.pid)
                process.kill()
                wait([process.sentinel], 10)
        self._thread.join(timeout=15)

    # -- internals -----------------------------------------------------------------------------

    def _post(self, message: Message) -> None:
        outbox = self._outbox
        if outbox is not None:
            outbox.post(message)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            running = self._start_child()
            if running is None:
                return
            process, conn = running
            self._follow(process, conn)
            if self._stopping.is_set():
                return
            ran = time.monotonic() - started
            delay = self._backoff.delay_after(ran)
            why = describe_exit(process.exitcode)
            # Exit 0: the child itself got SIGTERM (e.g. systemd signals the whole group).
            log.log(
                logging.WARNING if process.exitcode == 0 else logging.ERROR,
                "worker process %s %s after %.0f s; restarting it in %.0f s",
                process.pid,
                why,
                ran,
                delay,
            )
            self._ready = False
            self.engine_error = f"the worker process {why}; restarting it"
            self.restarts += 1
            self._stopping.wait(delay)

    def _start_child(self) -> tuple[BaseProcess, Connection] | None:
        server_end, child_end = self._spawn.Pipe()
        level = logging.getLogger().getEffectiveLevel()
        process = self._spawn.Process(
            target=run_child, args=(self._values, child_end, level), name="reelforge-worker"
        )
        with self._lock:  # stop() either sees this child or prevents it
            if self._stopping.is_set():
                server_end.close()
                child_end.close()
                return None
            process.start()
            self._process = process
            outbox = PipeOutbox(server_end, "relay-to-worker")
            outbox.start()
            self._outbox = outbox
        child_end.close()  # the child holds its own copy; EOF then means the child is gone
        log.info(
            "worker process started: pid %s, %d slot(s), nice +%d",
            process.pid,
            self.settings.worker_concurrency,
            self.settings.worker_nice,
        )
        return process, server_end

    def _follow(self, process: BaseProcess, conn: Connection) -> None:
        """Apply the child's messages until it exits."""
        while True:
            ready = wait([conn, process.sentinel])
            if conn in ready:
                try:
                    self._apply(conn.recv())
                    continue
                except (EOFError, OSError):
                    pass  # the child closed its end: it is exiting
            process.join()
            break
        self._reclaimed_before += self._reclaimed_now
        self._reclaimed_now = 0
        with self._lock:
            outbox, self._outbox, self._process = self._outbox, None, None
        if outbox is not None:
            outbox.close()
        conn.close()

    def _apply(self, message: Message) -> None:
        if message == EVENTS:
            self._signals.events_recorded()
        elif isinstance(message, tuple) and message[0] == ENGINE:
            loaded = message[1] == "loaded"
            self.engine_error = None if loaded else message[2]
            self._ready = loaded
        elif isinstance(message, tuple) and message[0] == RECLAIMED:
            self._reclaimed_now = int(message[1])
        elif isinstance(message, tuple) and message[0] == METRIC:
            name, labels, value = message[1:]
            self.metrics.observe(name, json.loads(labels), float(value))


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is still running"
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    if code == 0:
        return "stopped (it was sent SIGTERM)"
    return f"exited with code {code}"
