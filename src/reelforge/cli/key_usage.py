"""``reelforge keys usage``: what each API key (and the local ``generate`` jobs) used per UTC
day and model, from the usage ledger: a table, or CSV for spreadsheets and scripts."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from reelforge.cli.common import ConfigOption, console, fail, open_runtime, settings_or_fail
from reelforge.domain.usage import parse_day, report_range

if TYPE_CHECKING:
    from reelforge.core.runtime import Runtime
    from reelforge.store.usage import UsageRow

LOCAL = "local"
"""How the owner of local jobs (``reelforge generate``) is named, here and as KEY."""
WIDE = 1000
"""Columns a table may take outside a terminal (it takes only what it needs)."""
CSV_HEADER = (
    "key_id",
    "key_name",
    "day",
    "model",
    "jobs",
    "completed",
    "failed",
    "cancelled",
    "video_seconds",
    "compute_seconds",
)


def usage(
    key: Annotated[
        str | None,
        typer.Argument(
            help="A key's id (from `keys list`), its token or its name, or `local` for the "
            "jobs of `reelforge generate`. Every key when left out.",
            metavar="KEY",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="First UTC day, YYYY-MM-DD (default: 29 days before --until)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Last UTC day, YYYY-MM-DD, inclusive (default: today)."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Write CSV with a header row to stdout, not a table.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Usage per key, day and model: videos, how they ended, seconds of video delivered and
    compute seconds. Each video counts on the UTC day it was created."""
    first, last = report_range(
        _day(since, "--since"), _day(until, "--until"), datetime.now(UTC).date()
    )
    if first > last:
        fail(f"--since {first} is after --until {last}; give a start on or before the end")
    runtime = open_runtime(settings_or_fail(config))
    try:
        owner = None if key is None else _owner(runtime, key)
        rows = runtime.database.usage.daily(owner, first.isoformat(), last.isoformat())
    finally:
        runtime.close()
    if as_csv:
        _write_csv(rows)
        return
    if not rows:
        console.print(f"no usage from {first} to {last} (UTC days)", highlight=False)
        return
    title = f"usage {first} .. {last} (UTC days)"
    if key is not None:
        title = "{}, key {} ({})".format(title, *_key_columns(rows[0]))
    _print_whole(_table(rows, title, every_key=key is None))


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_day(text)
    except ValueError:
        fail(f"{option}: {text[:40]!r} is not a date; use YYYY-MM-DD (a UTC day), e.g. 2026-12-01")


def _owner(runtime: Runtime, wanted: str) -> str:
    """The ledger owner KEY names: a key by id, token or name, or "" for ``local``."""
    if wanted == LOCAL:
        return ""
    key_id = wanted.removeprefix("rf_").split("_")[0] if wanted.startswith("rf_") else wanted
    keys = runtime.keys.list()
    found = [k for k in keys if k.id == key_id] or [k for k in keys if k.name == wanted]
    if not found:
        fail(f"no API key with id or name {wanted!r}; `reelforge keys list` shows them")
    if len(found) > 1:
        fail(f"{len(found)} keys are named {wanted!r}; pass the key's id instead")
    return found[0].id


def _key_columns(row: UsageRow) -> tuple[str, str]:
    """The key's id and name; ``local`` for both for local jobs."""
    if not row.owner:
        return LOCAL, LOCAL
    return row.owner, row.key_name or ""


def _write_csv(rows: Sequence[UsageRow]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            (
                *_key_columns(row),
                row.day,
                row.model,
                row.jobs,
                row.completed,
                row.failed,
                row.cancelled,
                row.video_seconds_delivered,
                f"{row.compute_seconds:.3f}",
            )
        )


def _table(rows: Sequence[UsageRow], title: str, *, every_key: bool) -> Table:
    keys = (Column("key", no_wrap=True), "name") if every_key else ()
    numbers = ("jobs", "completed", "failed", "cancelled", "video s", "compute s")
    table = Table(*keys, Column("day", no_wrap=True), "model", title=title)
    for name in numbers:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            *(_key_columns(row) if every_key else ()),
            row.day,
            row.model,
            *_counts(
                row.jobs,
                row.completed,
                row.failed,
                row.cancelled,
                row.video_seconds_delivered,
                row.compute_seconds,
            ),
        )
    table.add_section()
    table.add_row(
        "total",
        *[""] * (len(keys) + 1),
        *_counts(
            sum(row.jobs for row in rows),
            sum(row.completed for row in rows),
            sum(row.failed for row in rows),
            sum(row.cancelled for row in rows),
            sum(row.video_seconds_delivered for row in rows),
            sum(row.compute_seconds for row in rows),
        ),
    )
    return table


def _print_whole(table: Table) -> None:
    """Print to stdout: on a terminal at its width; into a file or pipe at the table's own
    width, never cut to 80 columns."""
    out = Console(markup=False)  # a name like "ci[gpu]" is text, not markup
    if not out.is_terminal:
        out = Console(markup=False, width=WIDE)
    out.print(table)


def _counts(*values: float) -> list[str]:
    *whole, compute = values
    return [str(int(value)) for value in whole] + [f"{compute:.3f}"]
