"""What every command shares: the error console, one-line failures, logging, settings and the
process's Runtime."""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from reelforge.core.config import Settings, load_settings
from reelforge.core.logs import LogFormat, PlainFormatter, formatter_for, install_record_context
from reelforge.domain.errors import ConfigError

if TYPE_CHECKING:
    from reelforge.core.runtime import Runtime

USAGE_ERROR = 2
"""Exit code of every user mistake: bad arguments, bad settings, a request the policy refuses."""

# soft_wrap: never insert line breaks, so a long path or URL stays on one line in any log.
console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (REELFORGE_* keys, lowercase).")
]


def print_error(message: str) -> None:
    """``error: <message>`` as one line; no Rich markup is read from the message."""
    console.print(Text.assemble(("error: ", "bold red"), message.replace("\n", " ")))


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print the error and end the command with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def setup_logging(
    verbose: bool = False, quiet: Sequence[str] = (), log_format: LogFormat = "auto"
) -> None:
    """``log_format`` "auto": Rich log lines on a terminal; plain, unwrapped, timestamped lines
    anywhere else (files, journald, container logs), where colours and wrapping only get in the
    way. "json": one JSON object per line (``reelforge.core.logs``). Records carry the request
    and job ids of their context.

    ``quiet``: loggers whose records below ERROR are left out, because the command reports the
    same event itself (``generate`` prints a refusal as its error line)."""
    install_record_context()
    handler: logging.Handler
    rich = log_format == "rich" or (log_format == "auto" and sys.stderr.isatty())
    if rich:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
        handler.setFormatter(PlainFormatter("%(name)s: %(message)s"))
    else:
        handler = _CurrentStderrHandler()
        handler.setFormatter(formatter_for(log_format))
    if quiet:
        handler.addFilter(_Quiet(quiet))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    # Alembic announces every plugin and migration step at INFO; only problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream of the
    moment it was set up: a command run inside another program (a test runner's captured
    output, an embedding app) may close the stream it was given while worker threads still log."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """The base class assigns it; the property always answers the current stderr."""


@contextmanager
def background_logging() -> Iterator[None]:
    """While open, the root logger's handlers format and write records in a thread of their
    own; the thread that logs only queues the record.

    For ``serve``: formatting a traceback (a database driver's chain, rendered by Rich on a
    terminal) takes from milliseconds to seconds, and on the event loop that stalls every other
    request, ``/healthz`` included. On exit, what is queued is written before returning."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, *handlers, respect_handler_level=True)
    root.handlers[:] = [_Enqueue(records)]
    listener.start()
    drained = threading.Event()

    def drain() -> None:
        if not drained.is_set():
            drained.set()
            listener.stop()  # writes what is queued
            root.handlers[:] = handlers

    restore = _drain_before_signals(drain)
    try:
        yield
    finally:
        restore()
        drain()


def _drain_before_signals(drain: Callable[[], None]) -> Callable[[], None]:
    """uvicorn ends by raising the SIGTERM or SIGINT it got once more, after putting back the
    handlers it found: with the default one the process dies right there, and the records still
    queued (the whole shutdown's) die with it. So the handler it finds writes them first, then
    does what the previous one would. Returns the function that puts the previous ones back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {
        signum: signal.getsignal(signum) or signal.SIG_DFL
        for signum in (signal.SIGTERM, signal.SIGINT)
    }

    def drain_then_resignal(signum: int, _frame: object) -> None:
        drain()
        signal.signal(signum, previous[signal.Signals(signum)])
        signal.raise_signal(signum)

    for signum in previous:
        signal.signal(signum, drain_then_resignal)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


class _Enqueue(QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The stock prepare() formats the record, traceback included, in the caller's thread:
        # what this handler exists to avoid. Only the message is fixed now (its arguments may
        # change later); the traceback is rendered by the listener's handlers.
        record.msg, record.args = record.getMessage(), None
        return record


class _Quiet(logging.Filter):
    """Drops records below ERROR from the named loggers and their children."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = tuple(names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return not any(record.name == n or record.name.startswith(n + ".") for n in self.names)


def settings_or_fail(config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        fail(str(exc))


def open_runtime(settings: Settings) -> Runtime:
    """The process's one Runtime; bad configuration ends the command with one line."""
    from reelforge.core.runtime import Runtime  # the database and media stack: not for --help

    try:
        return Runtime.open(settings)
    except ConfigError as exc:
        fail(str(exc))
