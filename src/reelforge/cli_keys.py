"""``reelforge keys create|list|revoke``: manage the bearer keys the HTTP API accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from reelforge.config import load_settings
from reelforge.domain.errors import ConfigError
from reelforge.store.db import check_connection, create_db_engine, migrate
from reelforge.store.keys import KeyNotFound, KeyStore

keys_app = typer.Typer(
    help="Manage API keys (`Authorization: Bearer rf_...`).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True)
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (REELFORGE_* keys, lowercase).")
]


def _key_store(config: Path | None) -> KeyStore:
    try:
        settings = load_settings(config)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_db_engine(settings.resolved_database_url)
        check_connection(engine)
        migrate(engine)
    except (ConfigError, OSError) as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    return KeyStore(engine)


@keys_app.command()
def create(
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "default",
    config: ConfigOption = None,
) -> None:
    """Create a key and print its token once (to stdout); only its hash is stored."""
    if not 1 <= len(name) <= 200:
        _err.print("[bold red]error:[/] --name must be 1 to 200 characters")
        raise typer.Exit(2)
    new = _key_store(config).create(name)
    _err.print(
        f"created key [bold]{new.key.id}[/] ({name}). The token below is shown only now; "
        "store it in a secret manager:",
        highlight=False,
    )
    typer.echo(new.token)


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """List keys: id, name, created, revoked (tokens are never shown again)."""
    table = Table("id", "name", "created", "status")
    for key in _key_store(config).list():
        status = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(key.id, key.name, f"{key.created_at:%Y-%m-%d %H:%M}", status)
    Console().print(table)


@keys_app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`) or its token.")],
    config: ConfigOption = None,
) -> None:
    """Revoke a key: requests with it get 401 from now on. Its jobs stay stored."""
    try:
        key = _key_store(config).revoke(key_id)
    except KeyNotFound as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    _err.print(f"revoked key {key.id} ({key.name})", highlight=False)
