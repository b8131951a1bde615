"""The ``reelforge`` command: its commands, ``--version``, and one-line usage errors."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reelforge import __version__
from reelforge.cli.common import USAGE_ERROR, print_error
from reelforge.cli.generate import generate
from reelforge.cli.jobs import jobs_app
from reelforge.cli.keys import keys_app
from reelforge.cli.models import models_app
from reelforge.cli.serve import serve, worker
from reelforge.cli.webhooks import webhooks_app
from reelforge.domain.errors import ReelForgeError

app = typer.Typer(
    help="ReelForge: self-hosted video generation behind the Sora and /v1/videos APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(generate)
app.command()(serve)
app.command()(worker)
app.add_typer(keys_app, name="keys", help="Create, list and revoke API keys.")
app.add_typer(
    jobs_app, name="jobs", help="Videos on a running server: list, show, cancel, download, watch."
)
app.add_typer(models_app, name="models", help="List, download and verify diffusers models.")
app.add_typer(webhooks_app, name="webhooks", help="Webhook endpoints, deliveries and secrets.")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"reelforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """ReelForge: self-hosted video generation behind the Sora and /v1/videos APIs."""


def main(argv: list[str] | None = None) -> None:
    """Run the command; every user mistake ends as one ``error:`` line and exit code 2."""
    try:
        result = app(args=argv, prog_name="reelforge", standalone_mode=False)
    except typer.Abort:
        print_error("interrupted")
        sys.exit(130)
    except typer.TyperException as exc:  # bad arguments or options (click's UsageError)
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "reelforge"
        if exc.format_message():  # empty when the help was shown for a bare command
            print_error(f"{exc.format_message()} (see `{command} --help`)")
        sys.exit(USAGE_ERROR)
    except ReelForgeError as exc:
        print_error(str(exc))
        sys.exit(USAGE_ERROR)
    sys.exit(result if isinstance(result, int) else 0)
