"""How ``reelforge jobs`` shows videos: a table that fits the terminal, and one video's
details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reelforge.cli.remote import describe

if TYPE_CHECKING:
    from reelforge.client import Video

PROMPT_EXCERPT: Final = 40
MIN_PROMPT: Final = 12
WIDE_OUTPUT: Final = 200
_CELL_PADDING: Final = 3
"""Columns take their text's width plus this (padding and the separator)."""
_STATUS_STYLES: Final = {
    "queued": "cyan",
    "in_progress": "yellow",
    "completed": "green",
    "failed": "red",
}

Cell = Callable[["Video"], str]
_CELLS: Final[dict[str, Cell]] = {
    "id": lambda video: video.id,
    "status": lambda video: status_label(video),
    "model": lambda video: video.model,
    "size": lambda video: video.size,
    "seconds": lambda video: video.seconds,
    "progress": lambda video: f"{video.progress}%",
    "created": lambda video: when(video.created_at),
    "prompt": lambda video: excerpt(video.prompt or ""),
}
_KEPT_FIRST: Final = ("id", "status", "progress", "prompt", "created", "size", "seconds", "model")
"""Which columns stay when the terminal is too narrow for all: the first ones."""


def stdout() -> Console:
    """markup off: a prompt such as "[red] kite" is text, not Rich markup. Off a terminal
    (a pipe, a file) lines are not cut at 80 columns."""
    terminal = Console()
    width = None if terminal.is_terminal else max(terminal.width, WIDE_OUTPUT)
    return Console(markup=False, highlight=False, width=width)


def video_table(videos: list[Video], width: int) -> Table:
    """id, status, model, size, seconds, progress, created and prompt; on a narrow terminal
    the prompt is shortened, then the least useful columns are left out. Ids are never cut."""
    widths = _columns_that_fit(videos, width)
    shown = set(widths)
    table = Table(title=None if videos else "no videos yet", box=box.SIMPLE_HEAD, show_edge=False)
    for name in (name for name in _CELLS if name in shown):
        table.add_column(
            name,
            no_wrap=True,
            overflow="ellipsis",
            justify="right" if name == "progress" else "left",
            min_width=widths[name],
            max_width=widths[name],
        )
    for video in videos:
        table.add_row(
            *(
                Text(_CELLS[name](video), style=_style(video) if name == "status" else "")
                for name in _CELLS
                if name in shown
            )
        )
    return table


def _columns_that_fit(videos: list[Video], width: int) -> dict[str, int]:
    """The columns to show and their widths: each its text's width, except the prompt,
    which takes what is left (at least ``MIN_PROMPT``)."""
    natural = {
        name: max([len(name), *(len(cell(video)) for video in videos)])
        for name, cell in _CELLS.items()
    }
    shown: dict[str, int] = {}
    used = _CELL_PADDING
    for name in _KEPT_FIRST:
        needed = min(natural[name], MIN_PROMPT) if name == "prompt" else natural[name]
        if name in ("id", "status") or used + needed + _CELL_PADDING <= width:
            shown[name] = needed
            used += needed + _CELL_PADDING
    if "prompt" in shown:
        shown["prompt"] = min(natural["prompt"], shown["prompt"] + width - used)
    return shown


def status_label(video: Video) -> str:
    if video.cancelled:
        return "cancelled"
    if video.status == "queued" and video.queue_position is not None:
        return f"queued #{video.queue_position + 1}"
    if video.status == "in_progress" and video.phase:
        return video.phase
    return video.status


def _style(video: Video) -> str:
    return _STATUS_STYLES.get(video.status, "")


def when(moment: int | None) -> str:
    if moment is None:
        return "-"
    return f"{datetime.fromtimestamp(moment, UTC):%Y-%m-%d %H:%M} UTC"


def excerpt(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= PROMPT_EXCERPT else flat[: PROMPT_EXCERPT - 1] + "…"


def video_details(video: Video, now: float) -> Table:
    """One row per fact; the whole prompt and the error's message, folded to fit."""
    rows: list[tuple[str, str | Text]] = [
        ("id", video.id),
        ("status", Text(status_label(video), style=_style(video))),
        ("progress", f"{video.progress}%"),
        ("now", describe(video, now)),
        ("model", video.model),
        ("size", video.size),
        ("seconds", video.seconds),
        ("created", when(video.created_at)),
        ("completed", when(video.completed_at)),
        ("expires", when(video.expires_at)),
        ("prompt", video.prompt or "-"),
    ]
    remixed = video.raw.get("remixed_from_video_id")
    if isinstance(remixed, str):
        rows.append(("remix of", remixed))
    if video.error is not None:
        rows.append(("error", f"{video.error.message} ({video.error.code})"))
    usage = video.raw.get("usage")
    if isinstance(usage, dict):
        delivered, compute = usage.get("video_seconds", 0), usage.get("compute_seconds", 0)
        rows.append(("usage", f"{delivered} video s, {compute} compute s"))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, value)
    return table
