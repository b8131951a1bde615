"""``reelforge serve`` (HTTP APIs, with embedded workers by default) and ``reelforge worker``
(workers only, on this or another machine). Both open one Runtime and pass it down."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from reelforge.cli.common import (
    ConfigOption,
    background_logging,
    fail,
    open_runtime,
    settings_or_fail,
    setup_logging,
)
from reelforge.cli.engine_choice import (
    EngineOption,
    PresetOption,
    refuse_unfitting_plan,
    with_preset,
)
from reelforge.domain.errors import ConfigError

if TYPE_CHECKING:
    from reelforge.core.config import Settings
    from reelforge.core.runtime import Runtime

log = logging.getLogger(__name__)
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="TCP port (1-65535).")]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[
        bool | None,
        typer.Option(
            "--workers/--no-workers",
            help="Also run workers, in a child process this server supervises "
            "[default: REELFORGE_EMBEDDED_WORKERS, else on].",
            show_default=False,
        ),
    ] = None,
    engine: EngineOption = None,
    preset: PresetOption = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Serve the HTTP APIs, with embedded workers unless --no-workers."""
    settings = settings_or_fail(config, embedded_workers=workers, engine=engine)
    settings = with_preset(settings, preset)
    setup_logging(verbose, log_format=settings.log_format)
    check_can_listen(host, port)
    from reelforge.services import build_prompt_policy

    try:
        build_prompt_policy(settings)
    except ConfigError as exc:
        fail(str(exc))
    from reelforge.api.server import serve as serve_http

    runtime = open_runtime(settings)
    try:
        with background_logging():  # the event loop never formats a log record
            serve_http(runtime, host, port)
    finally:
        runtime.close()


def check_can_listen(host: str, port: int) -> None:
    """Fail before anything is created when ``host:port`` cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"--host {host!r} is not an address of this machine ({exc.strerror}); try 127.0.0.1")
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            fail(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "pick a free --port or another --host"
            )


def worker(
    concurrency: Annotated[int | None, typer.Option(min=1, help="Jobs run at once.")] = None,
    engine: EngineOption = None,
    preset: PresetOption = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Run workers against the configured database (this or another machine)."""
    settings = settings_or_fail(config, worker_concurrency=concurrency, engine=engine)
    settings = with_preset(settings, preset)
    setup_logging(verbose, log_format=settings.log_format)
    refuse_unfitting_plan(settings)  # before the database: a plan that cannot fit never will
    runtime = open_runtime(settings)
    try:
        with background_logging():  # heartbeats never wait for a traceback to be written
            run_workers(settings, runtime)
    finally:
        runtime.close()


def run_workers(settings: Settings, runtime: Runtime) -> None:
    """Run workers until SIGTERM/SIGINT; a second signal exits at once (leases are swept)."""
    from reelforge.notify.dispatcher import WebhookDispatcher
    from reelforge.worker import Worker

    runner = Worker(runtime)
    dispatcher = WebhookDispatcher(runtime) if settings.webhook_dispatch else None
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if stop.is_set():
            sys.exit(130)
        # A log record, not a console line: with log_format json every line stays JSON.
        log.warning(
            "received %s: finishing running jobs (up to %.0f s), claiming no more",
            signal.Signals(signum).name,
            settings.shutdown_grace_seconds,
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.start()
    if dispatcher is not None:
        dispatcher.start()
    while not stop.wait(0.5):
        pass
    runner.stop()
    if dispatcher is not None:
        dispatcher.stop()
