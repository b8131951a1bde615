"""``reelforge keys create|list|revoke``: manage the bearer keys the HTTP API accepts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reelforge.cli.common import ConfigOption, console, fail, open_runtime, settings_or_fail
from reelforge.domain.errors import KeyNotFound

if TYPE_CHECKING:
    from reelforge.store.keys import KeyStore

keys_app = typer.Typer(
    help="Manage API keys (`Authorization: Bearer rf_...`).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@contextmanager
def _key_store(config: Path | None) -> Iterator[KeyStore]:
    runtime = open_runtime(settings_or_fail(config))
    try:
        yield runtime.keys
    finally:
        runtime.close()


@keys_app.command()
def create(
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "default",
    config: ConfigOption = None,
) -> None:
    """Create a key and print its token once (to stdout); only its hash is stored."""
    if not 1 <= len(name) <= 200:
        fail("--name must be 1 to 200 characters")
    with _key_store(config) as keys:
        new = keys.create(name)
    console.print(
        Text.assemble(
            "created key ",
            (new.key.id, "bold"),
            f" ({name}). The token below is shown only now; store it in a secret manager:",
        )
    )
    typer.echo(new.token)


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """List keys: id, name, created, revoked (tokens are never shown again)."""
    table = Table("id", "name", "created", "status")
    with _key_store(config) as keys:
        listed = keys.list()
    for key in listed:
        status = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(key.id, key.name, f"{key.created_at:%Y-%m-%d %H:%M}", status)
    Console(markup=False).print(table)  # a name like "ci[gpu]" is text, not markup


@keys_app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`) or its token.")],
    config: ConfigOption = None,
) -> None:
    """Revoke a key: requests with it get 401 from now on. Its jobs stay stored."""
    with _key_store(config) as keys:
        try:
            key = keys.revoke(key_id)
        except KeyNotFound as exc:
            fail(str(exc), code=1)
    console.print(f"revoked key {key.id} ({key.name})", highlight=False, markup=False)
