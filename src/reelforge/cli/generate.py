"""``reelforge generate``: one video end to end on this machine, through the same admission
as the HTTP API (validation, content policy, face check, retention)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from reelforge.cli.common import (
    ConfigOption,
    console,
    fail,
    open_runtime,
    settings_or_fail,
    setup_logging,
)
from reelforge.cli.remote import ApiKeyOption
from reelforge.domain.errors import EngineLoadError, PolicyRefused, SpecError
from reelforge.domain.jobs import Job, Status
from reelforge.domain.limits import MAX_IMAGE_BYTES, MODEL_NAMES, describe_size
from reelforge.storage.base import BlobStore

if TYPE_CHECKING:
    from reelforge.services.local_job import JobProgress

REFUSAL_LOGGERS = ("reelforge.policy", "reelforge.services.admission")
"""They log each refusal for a server's operator; here the refusal is the command's error line."""


def generate(
    prompt: Annotated[str, typer.Argument(help="What the video should show.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the MP4.")] = Path(
        "reelforge.mp4"
    ),
    image: Annotated[
        Path | None, typer.Option("--image", help="First frame (JPEG/PNG/WebP, exact size).")
    ] = None,
    seconds: Annotated[int, typer.Option(help="4, 8 or 12.")] = 8,
    size: Annotated[str, typer.Option(help="1280x720 or 720x1280.")] = "1280x720",
    seed: Annotated[int | None, typer.Option(help="Seed for a reproducible result.")] = None,
    model: Annotated[str, typer.Option(help=f"One of {', '.join(MODEL_NAMES)}.")] = "sora-2",
    config: ConfigOption = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Debug logs, and the rule behind a refusal.")
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="REELFORGE_URL",
            show_envvar=True,
            help="Have this running server make it (e.g. http://127.0.0.1:8000) instead of "
            "this machine.",
        ),
    ] = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Generate one video end to end on this machine (or on --server) and write it to OUTPUT."""
    if server:
        from reelforge.cli.remote_generate import generate_remote
        from reelforge.client import CreateVideo

        check_output(output)
        remote = CreateVideo(
            prompt=prompt,
            model=model,
            size=size,
            seconds=seconds,
            seed=seed,
            image=read_image(image) if image is not None else None,
            image_name=image.name if image is not None else "image",
        )
        return generate_remote(remote, output, server, api_key)
    # The services pull in the media and database stacks: imported when a job is made, so that
    # --help and argument errors answer at once.
    from reelforge.services.admission import VideoRequest
    from reelforge.services.local_job import run_local_job

    setup_logging(verbose, quiet=() if verbose else REFUSAL_LOGGERS)
    settings = settings_or_fail(config)
    check_output(output)
    request = VideoRequest(
        prompt=prompt,
        model=model,
        size=size,
        seconds=seconds,
        seed=seed,
        first_frame=read_image(image) if image is not None else None,
    )
    runtime = open_runtime(settings)
    try:
        try:
            job, _ = run_local_job(runtime, request, watch=progress_watcher())
        except PolicyRefused as exc:
            fail(exc.public_message)
        except (SpecError, EngineLoadError) as exc:
            fail(_with_option(exc))
        _deliver(job, runtime.blobs, output)
    finally:
        runtime.close()


def _deliver(job: Job, blobs: BlobStore, output: Path) -> None:
    """Copy the finished video from the blob store (a local directory or a bucket) to
    ``output``, or end with the job's error (exit code 1)."""
    if job.status is not Status.COMPLETED or job.outputs is None:
        fail(f"job {job.id} {job.status.value}: {job.error_message}", code=1)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("wb") as target:
            for chunk in _read_blob(blobs, job.outputs.video):
                target.write(chunk)
    except OSError as exc:
        fail(f"-o {output} cannot be written ({exc.strerror or exc}); pass another path")
    console.print(
        Text.assemble(
            ("wrote ", "green"),
            f"{output} ({job.spec.size}, {job.spec.seconds} s, seed {job.spec.seed}, "
            f"engine {job.engine})",
        )
    )
    if job.engine == "testcard":
        console.print(
            Text.assemble(
                ("note: ", "yellow"),
                "the testcard engine draws a test pattern; set REELFORGE_ENGINE=diffusers for "
                "real generation on a GPU",
            )
        )


def _read_blob(blobs: BlobStore, key: str) -> Iterator[bytes]:
    """The blob in chunks; a store that fails (a bucket gone offline) ends the command."""
    try:
        with blobs.open(key) as source:
            while chunk := source.read(1 << 20):
                yield chunk
    except OSError as exc:
        fail(f"the video could not be read from the blob store ({exc}); run generate again", 1)


def check_output(output: Path) -> None:
    """Refuse an ``-o`` that can never be written before any work is done."""
    if output.is_dir():
        fail(f"-o {output} is a directory; pass a file path such as {output / 'video.mp4'}")


def read_image(path: Path) -> bytes:
    """The bytes of ``--image``; a path that cannot be read ends the command with one line."""
    if path.is_dir():
        fail(f"--image {path} is a directory; pass the path of a JPEG, PNG or WebP file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except FileNotFoundError:
        fail(f"--image {path} does not exist; pass the path of a JPEG, PNG or WebP file")
    except OSError as exc:
        fail(f"--image {path} cannot be read ({exc.strerror or exc}); check the path")
    if len(data) > MAX_IMAGE_BYTES:
        fail(f"--image {path} is larger than {describe_size(MAX_IMAGE_BYTES)}; use a smaller file")
    return data


def _with_option(exc: SpecError | EngineLoadError) -> str:
    """Name the command-line option a request error is about (``image`` -> ``--image``)."""
    field = exc.field if isinstance(exc, SpecError) else None
    return (
        f"--{field}: {exc}" if field in {"image", "model", "size", "seconds", "seed"} else str(exc)
    )


def progress_watcher(
    out: Console = console, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[JobProgress | None], None]:
    """A callback driving a rich progress bar through the job's phases: ``queued (N ahead)``
    -> ``loading`` -> ``denoising`` -> ``encoding`` -> ``done``, each drawn as soon as it is
    seen, with the time left when the server has measured enough to estimate it."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=out,
        transient=False,
        refresh_per_second=10,
    )
    task = progress.add_task("queued", total=100)
    last_phase = [""]

    def watch(update: JobProgress | None) -> None:
        if update is None:
            progress.stop()
            return
        phase = update.phase
        progress.update(
            task, completed=update.job.progress * 100, description=describe(update, now())
        )
        progress.start()  # draws the first state; a no-op once started
        if phase != last_phase[0]:
            progress.refresh()  # a new phase is drawn at once, however short
        last_phase[0] = phase

    return watch


def describe(update: JobProgress, now: datetime) -> str:
    """The phase, with the wait or the time left when they can be estimated."""
    estimate = update.estimate
    if estimate.estimated_start_at is not None:
        return f"{update.phase}, starts in ~{_seconds(estimate.estimated_start_at, now)}"
    if estimate.estimated_completion_at is not None and not update.job.status.is_terminal:
        return f"{update.phase}, ~{_seconds(estimate.estimated_completion_at, now)} left"
    return update.phase


def _seconds(moment: datetime, now: datetime) -> str:
    return f"{max(0, round((moment - now).total_seconds()))} s"
