"""What the client commands share (``reelforge jobs ...``, ``generate --server``): the server
and key options, one-line errors, a live progress bar for a video, and downloads to a file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from reelforge.cli.common import console, fail

if TYPE_CHECKING:
    # At run time the client (httpx) is imported by the commands that use it, so the other
    # commands and --help do not pay for it.
    from reelforge.client import ReelForgeClient, Variant, Video

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="REELFORGE_URL",
        show_envvar=True,
        help="The ReelForge server, e.g. http://127.0.0.1:8000.",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="REELFORGE_API_KEY",
        show_envvar=True,
        help="An API key of that server (`reelforge keys create` there).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]

FAILED_EXIT = 1
"""``watch`` and ``generate --server`` when the video failed or was cancelled."""


def connect(server: str | None, api_key: str | None) -> ReelForgeClient:
    """A client for the server the options (or ``REELFORGE_URL``/``REELFORGE_API_KEY``)
    name; a missing or malformed one ends the command with one line."""
    if not server:
        fail("no server given; pass --server URL or set REELFORGE_URL")
    if not api_key:
        fail(
            "no API key given; pass --api-key or set REELFORGE_API_KEY (create one with "
            "`reelforge keys create` on the server)"
        )
    from reelforge.client import ClientError, ReelForgeClient

    try:
        return ReelForgeClient(server, api_key)
    except ClientError as exc:
        fail(str(exc), exc.exit_code)


@contextmanager
def reported() -> Iterator[None]:
    """A ``ClientError`` inside ends the command with its line and exit code."""
    from reelforge.client import ClientError

    try:
        yield
    except ClientError as exc:
        fail(str(exc), exc.exit_code)


# -- a video's progress --------------------------------------------------------------------------


class VideoProgress:
    """A rich progress bar following one video: queue position and start estimate while it
    waits, then its phase, percent and time left. Drawn from the first state on, so an error
    before it (a wrong key, a missing video) stays the only line."""

    def __init__(self, out: Console = console, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=out,
            refresh_per_second=10,
        )
        self.task = self.progress.add_task("", total=100)
        self.last = ""

    def __enter__(self) -> VideoProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def update(self, video: Video) -> None:
        description = describe(video, self.now())
        self.progress.update(self.task, completed=video.progress, description=description)
        self.progress.start()  # a no-op once started
        if description != self.last:
            self.progress.refresh()  # a new phase is drawn at once, however short
        self.last = description


def describe(video: Video, now: float) -> str:
    """``queued, 2 ahead, starts in ~30 s`` / ``denoising, ~12 s left`` / ``completed``."""
    if video.status == "queued":
        parts = ["queued"]
        if video.queue_position is not None:
            ahead = video.queue_position
            parts.append("next in line" if ahead == 0 else f"{ahead} ahead")
        if video.estimated_start_at is not None:
            parts.append(f"starts in ~{_seconds(video.estimated_start_at, now)}")
        return ", ".join(parts)
    if video.status == "in_progress":
        phase = video.phase or "running"
        if video.estimated_completion_at is not None:
            return f"{phase}, ~{_seconds(video.estimated_completion_at, now)} left"
        return phase
    return "cancelled" if video.cancelled else video.status


def _seconds(moment: int, now: float) -> str:
    return f"{max(0, round(moment - now))} s"


def follow(client: ReelForgeClient, video_id: str, out: Console = console) -> Video:
    """Show the video's progress until it finishes; returns its last state."""
    with reported(), VideoProgress(out) as bar:
        last: Video | None = None
        for last in client.follow(video_id):
            bar.update(last)
    assert last is not None, "follow() yields the current state first"
    return last


def end_unless_completed(video: Video) -> None:
    """A failed or cancelled video ends the command with its reason and exit code 1."""
    if video.status == "completed":
        return
    error = video.error
    reason = f"{error.message} ({error.code})" if error is not None else "no reason given"
    verb = "was cancelled" if video.cancelled else f"is {video.status}"
    fail(f"video {video.id} {verb}: {reason}", FAILED_EXIT)


# -- downloads -----------------------------------------------------------------------------------


def download_file(
    client: ReelForgeClient,
    video_id: str,
    output: Path,
    variant: Variant = "video",
    out: Console = console,
) -> int:
    """Stream the file to ``output`` with a progress bar: into a temporary file beside it,
    renamed into place once whole, so an interrupted download never leaves a partial file
    under the name. Returns the bytes written."""
    partial = output.with_name(f".{output.name}.{os.getpid()}.part")
    progress = Progress(
        TextColumn(variant), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=out
    )
    task = progress.add_task(variant, total=None)

    def started(total: int | None) -> None:
        progress.update(task, total=total)
        progress.start()  # once the answer is there: an error stays the only line

    try:
        with reported(), _writable(partial) as target:
            try:
                written = client.download(
                    video_id,
                    target,
                    variant=variant,
                    on_start=started,
                    on_chunk=lambda size: progress.advance(task, size),
                )
            finally:
                progress.stop()
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


@contextmanager
def _writable(path: Path) -> Iterator[IO[bytes]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("wb")
    except OSError as exc:
        fail(f"-o {path.parent} cannot be written ({exc.strerror or exc}); pass another path")
    with handle:
        yield handle


def check_new_file(output: Path, force: bool) -> None:
    """Refuse to replace a file unless asked to, and a directory always."""
    if output.is_dir():
        fail(f"-o {output} is a directory; pass a file path such as {output / 'out.mp4'}")
    if output.exists() and not force:
        fail(f"{output} exists; pass --force to overwrite it, or -o another path")


def wrote(output: Path, written: int, detail: str = "") -> None:
    size = f"{written / 1_000_000:.1f} MB" if written >= 100_000 else f"{written} bytes"
    console.print(Text.assemble(("wrote ", "green"), f"{output} ({size}{detail})"))
