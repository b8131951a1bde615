"""The worker child process of ``reelforge serve`` (``embedded_workers_mode = "process"``).

``WorkerSupervisor`` starts ``run_child`` with multiprocessing's spawn method: a fresh
interpreter, so no thread or database connection of the server is inherited, and the engine
(torch included) is imported here only. The child opens its own Runtime and runs a ``Worker``
(slots, heartbeat, lease sweeper); no webhook dispatcher, the server process runs one.

Stopping: SIGTERM (sent by the server on shutdown) stops claiming, lets running jobs finish for
``shutdown_grace_seconds``, releases the rest and exits 0; a second SIGTERM exits at once. SIGINT
is ignored: Ctrl-C reaches the whole process group, and the server stops its child itself. If
the server goes away (its end of the pipe closes) the child stops the same way.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from reelforge.core.config import Settings
from reelforge.core.logs import LogFormat, formatter_for, install_record_context
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import ConfigError
from reelforge.store.database import DatabaseError
from reelforge.store.signals import Signals
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
from reelforge.worker.runner import Worker

log = logging.getLogger(__name__)
ENGINE_REPORT_SECONDS = 0.2
"""How often the child compares the engine's state with what it last told the server."""

EngineState = tuple[bool, str | None]


def run_child(values: dict[str, Any], conn: Connection, log_level: int) -> None:
    """The child's entry point: ``values`` are the server's settings (``model_dump``)."""
    stop = threading.Event()
    _handle_signals(stop)
    settings = Settings.model_validate(values)
    _setup_logging(log_level, settings.log_format)
    _lower_priority(settings.worker_nice)
    try:
        runtime = Runtime.open(settings)
    except (ConfigError, DatabaseError) as exc:
        log.error("worker process cannot start: %s", exc)
        raise SystemExit(1) from None
    outbox = PipeOutbox(conn, "relay-to-server")
    try:
        _run(runtime, conn, outbox, stop)
    finally:
        outbox.close()
        runtime.close()
        conn.close()


def _run(runtime: Runtime, conn: Connection, outbox: PipeOutbox, stop: threading.Event) -> None:
    worker = Worker(runtime)
    worker.metrics.forward = lambda name, labels, value: outbox.post(
        (METRIC, name, json.dumps(labels), repr(value))
    )
    runtime.signals.on_events(lambda: outbox.post(EVENTS))
    outbox.start()
    reader = threading.Thread(
        target=_read_server, args=(conn, runtime.signals, stop), name="relay-from-server"
    )
    reader.daemon = True  # blocked in recv() until the server closes the pipe
    reader.start()
    worker.start()
    reported: EngineState = (False, None)
    reclaimed = 0
    while not stop.wait(ENGINE_REPORT_SECONDS):
        reported = _report_engine(worker, outbox, reported)
        if worker.tmp_reclaimed_bytes != reclaimed:
            reclaimed = worker.tmp_reclaimed_bytes
            outbox.post((RECLAIMED, str(reclaimed)))
    log.info(
        "worker process %d stopping: running jobs get %.0f s, then return to the queue",
        os.getpid(),
        runtime.settings.shutdown_grace_seconds,
    )
    worker.stop()


def _report_engine(worker: Worker, outbox: PipeOutbox, reported: EngineState) -> EngineState:
    """Tell the server when the engine loads or fails (its ``/readyz`` reports it)."""
    state = (worker.ready, worker.engine_error)
    if state != reported:
        if worker.ready:
            outbox.post((ENGINE, "loaded"))
        elif worker.engine_error is not None:
            outbox.post((ENGINE, "failed", worker.engine_error))
    return state


def _read_server(conn: Connection, signals: Signals, stop: threading.Event) -> None:
    while True:
        try:
            message: Message = conn.recv()
        except (EOFError, OSError):
            if not stop.is_set():
                log.warning("the server process is gone; stopping this worker process")
                stop.set()
            return
        if message == ENQUEUED:
            signals.job_enqueued()
        elif isinstance(message, tuple) and message[0] == CANCEL:
            signals.cancel_requested(message[1])


def _handle_signals(stop: threading.Event) -> None:
    def request_stop(_signum: int, _frame: object) -> None:
        if stop.is_set():
            raise SystemExit(143)  # a second SIGTERM: now; leases expire and are swept
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _setup_logging(level: int, log_format: LogFormat) -> None:
    """The server's level; plain lines marked with this process's pid, or the server's JSON
    lines (which carry the pid)."""
    install_record_context()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        formatter_for(
            log_format, "%(asctime)s %(levelname)s worker[%(process)d] %(name)s: %(message)s"
        )
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _lower_priority(increment: int) -> None:
    if increment > 0:
        try:
            os.nice(increment)
        except OSError as exc:  # not expected (lowering is always allowed); never fatal
            log.warning("could not lower the worker's CPU priority: %s", exc)
