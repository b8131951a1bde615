"""``reelforge keys create|update|show|list|revoke``: manage the bearer keys the HTTP API
accepts, and each key's limits (rates, queue caps, budgets, models, expiry, queue weight)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reelforge.cli.common import ConfigOption, console, fail, open_runtime, settings_or_fail
from reelforge.cli.key_settings import (
    DailyGpuOption,
    DailyVideoOption,
    ExpiresOption,
    MaxQueuedOption,
    MaxRunningOption,
    ModelsOption,
    MonthlyGpuOption,
    MonthlyVideoOption,
    RpmOption,
    SettingError,
    WeightOption,
    parse_settings,
)
from reelforge.cli.key_usage import usage as usage_command
from reelforge.domain.errors import KeyNotFound
from reelforge.domain.quotas import LIMIT_NAMES, UNLIMITED, KeyLimits

if TYPE_CHECKING:
    from reelforge.store.keys import ApiKey, KeyStore

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
    rpm: RpmOption = None,
    max_queued: MaxQueuedOption = None,
    max_running: MaxRunningOption = None,
    daily_video_seconds: DailyVideoOption = None,
    monthly_video_seconds: MonthlyVideoOption = None,
    daily_gpu_seconds: DailyGpuOption = None,
    monthly_gpu_seconds: MonthlyGpuOption = None,
    models: ModelsOption = None,
    expires: ExpiresOption = None,
    weight: WeightOption = None,
    admin: Annotated[
        bool,
        typer.Option(
            "--admin", help="The key may also read the operator endpoints (/v1/admin/status)."
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Create a key and print its token once (to stdout); only its hash is stored. Limits not
    given follow the server defaults (settings `default_*`)."""
    if not 1 <= len(name) <= 200:
        fail("--name must be 1 to 200 characters")
    given = _given(locals())
    with _key_store(config) as keys:
        settings = _parsed(given, keys, allow_default=False)
        new = keys.create(name, settings, admin=admin)
    console.print(
        Text.assemble(
            "created ",
            "admin key " if admin else "key ",
            (new.key.id, "bold"),
            f" ({name}). The token below is shown only now; store it in a secret manager:",
        )
    )
    typer.echo(new.token)


@keys_app.command()
def update(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`) or its token.")],
    rpm: RpmOption = None,
    max_queued: MaxQueuedOption = None,
    max_running: MaxRunningOption = None,
    daily_video_seconds: DailyVideoOption = None,
    monthly_video_seconds: MonthlyVideoOption = None,
    daily_gpu_seconds: DailyGpuOption = None,
    monthly_gpu_seconds: MonthlyGpuOption = None,
    models: ModelsOption = None,
    expires: ExpiresOption = None,
    weight: WeightOption = None,
    config: ConfigOption = None,
) -> None:
    """Change a key's limits; options not given stay as they are. Every replica applies the
    change within a second."""
    given = _given(locals())
    if not any(value is not None for value in given.values()):
        fail("nothing to change: give at least one option (see `reelforge keys update --help`)")
    with _key_store(config) as keys:
        settings = _parsed(given, keys, allow_default=True)
        try:
            key = keys.update(key_id, settings)
        except KeyNotFound as exc:
            fail(str(exc), code=1)
    console.print(f"updated key {key.id} ({key.name})", highlight=False, markup=False)


@keys_app.command()
def show(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`) or its token.")],
    config: ConfigOption = None,
) -> None:
    """Show a key's limits: its own setting and the value in force (with the server default)."""
    runtime = open_runtime(settings_or_fail(config))
    try:
        key = runtime.keys.get(key_id)
        defaults = runtime.settings.default_limits
    except KeyNotFound as exc:
        fail(str(exc), code=1)
    finally:
        runtime.close()
    table = Table("setting", "this key", "in force", title=f"key {key.id} ({key.name})")
    effective = key.limits.effective(defaults)
    for name in LIMIT_NAMES:
        own = getattr(key.limits, name)
        table.add_row(name, _own(own), _shown(getattr(effective, name)))
    table.add_row("models", _models(key.allowed_models), _models(key.allowed_models))
    expiry = f"{key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else "never"
    table.add_row("expires", expiry, expiry)
    table.add_row("weight", str(key.weight), str(key.weight))
    table.add_row("admin", _yes(key.admin), _yes(key.admin))
    Console(markup=False).print(table)


_SETTING_OF_OPTION = {
    "models": "allowed_models",
    "expires": "expires_at",
    **{name: name for name in (*LIMIT_NAMES, "weight")},
}


def _given(arguments: dict[str, object]) -> dict[str, str | None]:
    """The key settings among a command's arguments, by setting name."""
    return {
        setting: arguments[option]  # type: ignore[misc]
        for option, setting in _SETTING_OF_OPTION.items()
    }


def _parsed(
    given: dict[str, str | None], keys: KeyStore, *, allow_default: bool
) -> dict[str, object]:
    try:
        return parse_settings(given, now=keys.clock(), allow_default=allow_default)
    except SettingError as exc:
        fail(str(exc))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _own(value: float | None) -> str:
    return "default" if value is None else _shown(None if value == UNLIMITED else value)


def _shown(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g}"


def _models(models: tuple[str, ...] | None) -> str:
    return "all" if models is None else ", ".join(models)


def _limits_summary(key: ApiKey, defaults: KeyLimits) -> str:
    effective = key.limits.effective(defaults)
    parts = [
        f"{name}={value:g}" for name, value in effective.as_dict().items() if value is not None
    ]
    if key.allowed_models is not None:
        parts.append(f"models={','.join(key.allowed_models)}")
    if key.weight != 1:
        parts.append(f"weight={key.weight}")
    return " ".join(parts) or "none"


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """List keys: id, name, created, status and the limits in force (tokens are never shown
    again)."""
    table = Table("id", "name", "created", "status")
    table.add_column("limits", overflow="fold")
    runtime = open_runtime(settings_or_fail(config))
    try:
        listed = runtime.keys.list()
        defaults = runtime.settings.default_limits
        now = runtime.keys.clock()
    finally:
        runtime.close()
    for key in listed:
        table.add_row(
            key.id,
            key.name,
            f"{key.created_at:%Y-%m-%d %H:%M}",
            _status(key, now),
            _limits_summary(key, defaults),
        )
    Console(markup=False).print(table)  # a name like "ci[gpu]" is text, not markup


def _status(key: ApiKey, now: datetime) -> str:
    state = _state(key, now)
    return f"{state}, admin" if key.admin else state


def _state(key: ApiKey, now: datetime) -> str:
    if not key.active:
        return f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
    if key.expires_at is not None:
        verb = "expired" if key.expired(now) else "expires"
        return f"{verb} {key.expires_at:%Y-%m-%d %H:%M}"
    return "active"


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


keys_app.command("usage")(usage_command)
