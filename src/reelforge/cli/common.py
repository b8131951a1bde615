"""What every command shares: the error console, one-line failures, logging, settings and the
process's Runtime."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from reelforge.core.config import Settings, load_settings
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


def setup_logging(verbose: bool = False, quiet: Sequence[str] = ()) -> None:
    """Rich log lines on a terminal; plain, unwrapped, timestamped lines anywhere else (files,
    journald, container logs), where colours and wrapping only get in the way.

    ``quiet``: loggers whose records below ERROR are left out, because the command reports the
    same event itself (``generate`` prints a refusal as its error line)."""
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if quiet:
        handler.addFilter(_Quiet(quiet))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    # Alembic announces every plugin and migration step at INFO; only problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)


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
