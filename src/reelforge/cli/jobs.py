"""``reelforge jobs list|show|cancel|download|watch``: the videos of one API key on a running
server, through its OpenAI surface (``--server``/``REELFORGE_URL``,
``--api-key``/``REELFORGE_API_KEY``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.text import Text

from reelforge.cli.common import console, fail
from reelforge.cli.job_views import stdout, video_details, video_table
from reelforge.cli.remote import (
    ApiKeyOption,
    JsonOption,
    ServerOption,
    check_new_file,
    connect,
    describe,
    download_file,
    end_unless_completed,
    follow,
    reported,
    wrote,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from reelforge.client import ReelForgeClient, Video

jobs_app = typer.Typer(
    help="Videos on a running server: list, show, cancel, download, watch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

VideoIdArgument = Annotated[str, typer.Argument(help="The video's id (video_...).")]


@jobs_app.command("list")
def list_jobs(
    limit: Annotated[
        int, typer.Option(min=1, max=100, help="How many videos to show (newest first).")
    ] = 20,
    after: Annotated[
        str | None, typer.Option(help="Start after this video id (the previous page's last).")
    ] = None,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Every video of the key, page after page.")
    ] = False,
    order: Annotated[Literal["desc", "asc"], typer.Option(help="desc: newest first.")] = "desc",
    as_json: JsonOption = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List the key's videos: a table, or with --json the API's list object."""
    with connect(server, api_key) as client, reported():
        if all_pages:
            videos = list(client.iter_videos(order=order))
            has_more = False
        else:
            page = client.list_videos(limit=limit, after=after, order=order)
            videos, has_more = page.data, page.has_more
    if as_json:
        _print_json(
            {
                "object": "list",
                "data": [dict(video.raw) for video in videos],
                "first_id": videos[0].id if videos else None,
                "last_id": videos[-1].id if videos else None,
                "has_more": has_more,
            }
        )
        return
    out = stdout()
    out.print(video_table(videos, out.width))
    if has_more:
        console.print(
            f"more: `reelforge jobs list --after {videos[-1].id}`, or --all",
            highlight=False,
            markup=False,
        )


def _call_for_video(
    call: Callable[[ReelForgeClient], Video],
    server: str | None,
    api_key: str | None,
    as_json: bool,
) -> Video | None:
    """Runs one call that answers a video; under ``--json`` prints it and answers None, so
    the command has nothing left to print."""
    with connect(server, api_key) as client, reported():
        video = call(client)
    if as_json:
        _print_json(dict(video.raw))
        return None
    return video


@jobs_app.command()
def show(
    video_id: VideoIdArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Show one video: status, phase, queue position, estimates, prompt, error, usage."""
    video = _call_for_video(lambda client: client.retrieve(video_id), server, api_key, as_json)
    if video is not None:
        stdout().print(video_details(video, datetime.now(UTC).timestamp()))


@jobs_app.command()
def cancel(
    video_id: VideoIdArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Cancel a queued or running video (a completed or failed one cannot be)."""
    video = _call_for_video(lambda client: client.cancel(video_id), server, api_key, as_json)
    if video is None:
        return
    if video.status == "in_progress":
        message = f"cancel requested: {video.id} stops within one step"
    else:
        message = f"cancelled {video.id}"
    console.print(message, highlight=False, markup=False)


@jobs_app.command()
def download(
    video_id: VideoIdArgument,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write it. Default: <id>.mp4 (.webp, .jpg)."),
    ] = None,
    variant: Annotated[
        Literal["video", "thumbnail", "spritesheet"],
        typer.Option(help="The MP4, its thumbnail (WebP) or its spritesheet (JPEG)."),
    ] = "video",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Download a completed video's file, streamed to disk with a progress bar."""
    from reelforge.client.models import VARIANT_SUFFIXES

    target = output or Path(video_id.strip() + VARIANT_SUFFIXES[variant])
    check_new_file(target, force)
    with connect(server, api_key) as client:
        with reported():
            video = client.retrieve(video_id)
        if video.status != "completed":
            _no_content(video)
        written = download_file(client, video.id, target, variant)
    wrote(target, written, f", {variant} of {video.id}")


@jobs_app.command()
def watch(
    video_id: VideoIdArgument,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Follow a video live (queue position, phase, progress) until it ends.

    Exit code 0 when it completed, 1 when it failed or was cancelled (with the reason)."""
    with connect(server, api_key) as client:
        video = follow(client, video_id)
    end_unless_completed(video)
    console.print(
        Text.assemble(("completed ", "green"), f"{video.id} ({video.size}, {video.seconds} s)"),
        highlight=False,
    )


# -- helpers -----------------------------------------------------------------------------------


def _no_content(video: Video) -> None:
    if video.finished:
        end_unless_completed(video)
    fail(
        f"{video.id} is {describe(video, datetime.now(UTC).timestamp())}, so it has no file "
        f"yet; wait with `reelforge jobs watch {video.id}`",
        code=1,
    )


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
