"""``reelforge webhooks add|list|enable|remove|deliveries|replay|secret``: an operator's view
of the webhook endpoints each API key registered, and of every delivery and its attempts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from reelforge.cli.common import ConfigOption, console, fail, open_runtime, settings_or_fail
from reelforge.domain.errors import SpecError, WebhookNotFound
from reelforge.domain.events import DEFAULT_WEBHOOK_EVENTS, EventType

if TYPE_CHECKING:
    from reelforge.core.runtime import Runtime
    from reelforge.store.webhooks import WebhookEndpoint

webhooks_app = typer.Typer(
    help="Webhook endpoints, deliveries and secrets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
KeyOption = Annotated[str, typer.Option("--key", help="The API key: its id or its name.")]
VALID_EVENTS = ", ".join(event.value for event in EventType)


@contextmanager
def _runtime(config: Path | None) -> Iterator[Runtime]:
    runtime = open_runtime(settings_or_fail(config))
    try:
        yield runtime
    finally:
        runtime.close()


def _key_id(runtime: Runtime, wanted: str) -> str:
    """The id of the active key named or numbered ``wanted``; one-line failure otherwise."""
    keys = [key for key in runtime.keys.list() if key.active]
    by_id = [key for key in keys if key.id == wanted]
    by_name = [key for key in keys if key.name == wanted]
    found = by_id or by_name
    if not found:
        fail(f"no active API key with id or name {wanted!r}; `reelforge keys list` shows them")
    if len(found) > 1:
        fail(f"{len(found)} keys are named {wanted!r}; pass the key's id instead")
    return found[0].id


def _events(events: str | None) -> list[str]:
    if events is None:
        return [event.value for event in DEFAULT_WEBHOOK_EVENTS]
    names = [name.strip() for name in events.split(",") if name.strip()]
    valid = {event.value for event in EventType}
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        shown = repr(unknown[0]) if unknown else "nothing"
        fail(
            f"--events: {shown} is not an event type; use a comma-separated list of {VALID_EVENTS}"
        )
    return list(dict.fromkeys(names))


@webhooks_app.command()
def add(
    url: Annotated[str, typer.Argument(help="Where deliveries are POSTed (https:// or http://).")],
    key: KeyOption,
    events: Annotated[
        str | None,
        typer.Option(help="Comma-separated events (default: completed, failed, cancelled)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label (default: the URL).")] = None,
    config: ConfigOption = None,
) -> None:
    """Register an endpoint for a key and print its signing secret once (to stdout)."""
    from reelforge.notify.urls import WebhookUrlPolicy

    wanted = _events(events)
    with _runtime(config) as runtime:
        policy = WebhookUrlPolicy.from_settings(runtime.settings)
        try:
            policy.check(url, field="URL")
        except SpecError as exc:
            fail(str(exc))
        finally:
            policy.close()
        endpoint = runtime.webhooks.create_endpoint(_key_id(runtime, key), url, name or url, wanted)
    console.print(
        f"added webhook endpoint {endpoint.id} for {', '.join(wanted)}. Its signing secret "
        "below is shown only now; give it to the receiver:",
        markup=False,
        highlight=False,
    )
    typer.echo(endpoint.secret)


@webhooks_app.command("list")
def list_endpoints(
    key: Annotated[str | None, typer.Option("--key", help="Only this key's endpoints.")] = None,
    config: ConfigOption = None,
) -> None:
    """List endpoints: id, key, name, URL, events, and whether deliveries are made (an endpoint
    whose receiver answered 410 Gone is disabled until it is updated or enabled)."""
    table = _table("id", "key", "name", "url", "events", "created", "state")
    with _runtime(config) as runtime:
        owner = _key_id(runtime, key) if key is not None else None
        endpoints = runtime.webhooks.list_endpoints(owner, limit=10_000)
    for endpoint in endpoints:
        table.add_row(
            endpoint.id,
            endpoint.owner,
            endpoint.name,
            endpoint.url,
            ", ".join(endpoint.event_types),
            _when(endpoint.created_at),
            f"disabled: {endpoint.disabled_reason}" if endpoint.disabled_at else "enabled",
        )
    _print(table)


@webhooks_app.command()
def enable(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id (we_...).")],
    config: ConfigOption = None,
) -> None:
    """Make deliveries to an endpoint disabled by a 410 Gone again (new events only; replay
    the failed ones with `reelforge webhooks replay`)."""
    with _runtime(config) as runtime:
        endpoint = _on_endpoint(
            endpoint_id, lambda: runtime.webhooks.update_endpoint(None, endpoint_id)
        )
    _print(f"webhook endpoint {endpoint.id} is enabled ({endpoint.url})")


@webhooks_app.command()
def remove(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id (we_...).")],
    config: ConfigOption = None,
) -> None:
    """Delete an endpoint; its pending deliveries are failed ('endpoint deleted')."""
    with _runtime(config) as runtime:
        endpoint = _on_endpoint(
            endpoint_id, lambda: runtime.webhooks.delete_endpoint(None, endpoint_id)
        )
    _print(f"removed webhook endpoint {endpoint.id} ({endpoint.url})")


@webhooks_app.command()
def deliveries(
    status: Annotated[
        str | None, typer.Option(help="Only deliveries in this state: pending, delivered, failed.")
    ] = None,
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint's (we_...).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest first, at most.")] = 50,
    config: ConfigOption = None,
) -> None:
    """Show deliveries, newest first, with their attempts and last outcome."""
    if status is not None and status not in ("pending", "delivered", "failed"):
        fail(f"--status {status!r} is not a state; use pending, delivered or failed")
    table = _table("id", "event", "url", "status", "attempts", "last", "next attempt")
    with _runtime(config) as runtime:
        listed = runtime.webhooks.deliveries.list_deliveries(
            status=status, endpoint_id=endpoint, limit=limit
        )
    for delivery in listed:
        last = delivery.last_error or (
            str(delivery.last_status_code) if delivery.last_status_code else ""
        )
        upcoming = _when(delivery.next_attempt_at) if delivery.status == "pending" else ""
        table.add_row(
            delivery.id,
            f"{delivery.event_type} {delivery.event_id}",
            delivery.url,
            delivery.status,
            str(delivery.attempts),
            last,
            upcoming,
        )
    _print(table)


@webhooks_app.command()
def replay(
    delivery_id: Annotated[str, typer.Argument(help="A failed delivery's id (dlv_...).")],
    config: ConfigOption = None,
) -> None:
    """Send a failed delivery again now (same webhook-id, so receivers can de-duplicate)."""
    with _runtime(config) as runtime:
        if not runtime.webhooks.deliveries.replay(delivery_id):
            found = runtime.webhooks.deliveries.get(delivery_id)
            if found is None:
                fail(f"no delivery {delivery_id!r}; `reelforge webhooks deliveries` shows them", 1)
            fail(f"delivery {delivery_id} is {found.status}; only a failed delivery is replayed")
        runtime.signals.events_recorded()  # a dispatcher in this process would send it now
    _print(f"delivery {delivery_id} will be sent again by the next dispatcher round")


@webhooks_app.command()
def secret(key: KeyOption, config: ConfigOption = None) -> None:
    """Print the secret that signs deliveries to a key's creates' own webhook_url."""
    with _runtime(config) as runtime:
        typer.echo(runtime.webhooks.owner_secret(_key_id(runtime, key)))


def _table(*headers: str) -> Table:
    """Long ids and URLs fold onto more lines instead of being cut short with an ellipsis."""
    return Table(*(Column(header, overflow="fold") for header in headers))


def _print(renderable: Table | str) -> None:
    # Made per call: the terminal width is read when it prints. Markup off: names are text.
    Console(markup=False, highlight=False).print(renderable)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _on_endpoint(endpoint_id: str, action: Callable[[], WebhookEndpoint]) -> WebhookEndpoint:
    """``action``'s endpoint, or the one-line error when there is no such endpoint."""
    try:
        return action()
    except WebhookNotFound:
        fail(f"no webhook endpoint {endpoint_id!r}; `reelforge webhooks list` shows them", 1)
