"""The ``reelforge`` command line: generate, serve, worker, keys, models."""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from reelforge.cli_keys import keys_app
from reelforge.cli_models import models_app
from reelforge.config import Settings, load_settings
from reelforge.domain.errors import ConfigError, EngineLoadError, ReelForgeError, SpecError
from reelforge.domain.jobs import Job, Status
from reelforge.runtime import Runtime

app = typer.Typer(
    help="ReelForge: self-hosted video generation behind the Sora and /v1/videos APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(keys_app, name="keys", help="Create, list and revoke API keys.")
app.add_typer(models_app, name="models", help="List, download and verify diffusers models.")
console = Console(stderr=True)
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (REELFORGE_* keys, lowercase).")
]


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=True)],
        force=True,
    )
    # Alembic announces every plugin and migration step at INFO; only problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _settings(config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise _fail(str(exc)) from None


@app.command()
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
    model: Annotated[str, typer.Option(help="Model name, as the APIs accept it.")] = "sora-2",
    config: ConfigOption = None,
) -> None:
    """Generate one video end to end on this machine and write it to OUTPUT."""
    from reelforge.local_job import run_local_job

    _setup_logging()
    settings = _settings(config)
    try:
        job, video = run_local_job(
            settings,
            prompt,
            image=image,
            seconds=seconds,
            size=size,
            seed=seed,
            model=model,
            watch=_progress_watcher(),
        )
    except (ConfigError, SpecError, EngineLoadError) as exc:
        raise _fail(str(exc)) from None
    if job.status is not Status.COMPLETED or video is None:
        raise _fail(f"job {job.id} {job.status.value}: {job.error_message}", code=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, output)
    console.print(
        f"[green]wrote[/] {output} ({job.spec.size}, {job.spec.seconds} s, "
        f"seed {job.spec.seed}, engine {job.engine})",
        highlight=False,
    )
    if job.engine == "testcard":
        console.print(
            "[yellow]note:[/] the testcard engine draws a test pattern; set "
            "REELFORGE_ENGINE=diffusers for real generation on a GPU",
            highlight=False,
        )


def _progress_watcher() -> Callable[[Job | None], None]:
    """A callback ``(job) -> None`` driving a rich progress bar while the job runs."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("queued", total=100)

    def watch(job: Job | None) -> None:
        if job is None:
            progress.stop()
            return
        progress.start()
        progress.update(task, completed=job.progress * 100, description=job.status.value)

    return watch


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Run workers against the configured database (this or another machine)."""
    _setup_logging(verbose)
    settings = _settings(config, worker_concurrency=concurrency)
    _run_workers(settings)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        bool, typer.Option("--workers/--no-workers", help="Run workers in this process.")
    ] = True,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Serve the HTTP APIs, with in-process workers unless --no-workers."""
    _setup_logging(verbose)
    settings = _settings(config, embedded_workers=workers)
    _open_runtime(settings).close()
    from reelforge.api.context import build_prompt_policy
    from reelforge.api.server import serve as serve_http

    try:
        build_prompt_policy(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    serve_http(settings, host, port)


def _open_runtime(settings: Settings) -> Runtime:
    """Open the database and storage now, so bad configuration fails before anything starts."""
    try:
        return Runtime.open(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _run_workers(settings: Settings, runtime: Runtime | None = None) -> None:
    from reelforge.worker import Worker

    try:
        runner = Worker(settings, runtime=runtime or Runtime.open(settings))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: stop now, the sweeper will requeue
            sys.exit(130)
        console.print(
            f"received {signal.Signals(signum).name}: finishing running jobs "
            f"(up to {settings.shutdown_grace_seconds:.0f} s), claiming no more"
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.start()
    while not stop.wait(0.5):
        pass
    runner.stop()
    runner.runtime.close()


def main() -> None:
    try:
        app()
    except ReelForgeError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
