"""``reelforge generate`` admits jobs the way the API does: it refuses what the API refuses with
the API's own words and queues nothing then, and its jobs expire and are swept.

Everything runs in this process (``run_main``); the API answers through a TestClient.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from rich.console import Console
from starlette.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.cli.generate import progress_watcher
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import JobNotFound, SpecError
from reelforge.domain.jobs import Job, JobOutputs
from reelforge.domain.specs import GenerationSpec
from reelforge.media import probe
from reelforge.net.fetch import ImageFetcher
from reelforge.services import build_admission
from reelforge.services.admission import VideoRequest
from reelforge.services.estimates import QueueEstimator
from reelforge.services.local_job import JobProgress
from reelforge.services.metrics import Metrics
from reelforge.services.retention import RetentionSweeper
from reelforge.storage import layout
from reelforge.store.types import utcnow
from tests.support.cli import Outcome, run_main
from tests.support.clock import FakeClock
from tests.support.image_cases import make_image
from tests.support.settings import fast_settings

RETENTION_SECONDS = 60  # the smallest the settings allow
REQUEST = {"model": "sora-2", "seconds": "4", "size": "1280x720"}


def png(frame: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "PNG")
    return buffer.getvalue()


def face_png() -> bytes:
    """A real face photo (scikit-image's astronaut) centred on a 1280x720 canvas."""
    pytest.importorskip("skimage", reason="install the dev extra: scikit-image has the photo")
    from tests.policy.images import paste, sample

    return png(paste(sample("astronaut")))


def settings_for(data_dir: Path) -> Settings:
    """The settings ``generate`` runs with below (SQLite in ``data_dir``, whatever the env)."""
    return fast_settings(data_dir, database_url=None, retention_seconds=RETENTION_SECONDS)


def all_jobs(data_dir: Path) -> list[Job]:
    runtime = Runtime.open(settings_for(data_dir))
    try:
        return runtime.store.list_jobs(None, limit=100)
    finally:
        runtime.close()


def generate(data_dir: Path, *args: str) -> Outcome:
    env = {
        "REELFORGE_DATA_DIR": str(data_dir),
        "REELFORGE_RETENTION_SECONDS": str(RETENTION_SECONDS),
    }
    return run_main("generate", *args, env=env)


# -- refusals: the API's words, nothing queued -------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The HTTP API in this process (no workers), with a key."""
    data_dir = tmp_path_factory.mktemp("api") / "data"
    settings = fast_settings(data_dir, database_url=None, embedded_workers=False)
    runtime = Runtime.open(settings)
    token = runtime.keys.create("tests").token
    app = create_app(settings, runtime)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            yield client
    finally:
        runtime.close()


def api_error(api: TestClient, prompt: str, image: bytes | None = None) -> str:
    """The message ``POST /v1/videos`` refuses the request with."""
    if image is None:
        response = api.post("/v1/videos", json={"prompt": prompt, **REQUEST})
    else:
        files = {"input_reference": ("frame.png", image, "image/png")}
        response = api.post("/v1/videos", data={"prompt": prompt, **REQUEST}, files=files)
    assert response.status_code == 400, response.text
    return str(response.json()["error"]["message"])


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("Taylor Swift singing on a stage", "real_person"),
        ("Mickey Mouse surfing", "copyright/character"),
    ],
)
def test_a_refused_prompt_gets_the_apis_message_and_queues_nothing(
    api: TestClient, prompt: str, category: str, tmp_path: Path
) -> None:
    outcome = generate(tmp_path / "data", prompt, "--seconds", "4")
    line = outcome.assert_one_error_line(f"(category: {category})")
    assert line == f"error: {api_error(api, prompt)}"
    assert all_jobs(tmp_path / "data") == []


def test_a_face_in_the_image_gets_the_apis_message_and_queues_nothing(
    api: TestClient, tmp_path: Path
) -> None:
    image = tmp_path / "face.png"
    image.write_bytes(face_png())
    outcome = generate(tmp_path / "data", "a portrait", "--seconds", "4", "--image", str(image))
    line = outcome.assert_one_error_line("(category: face)")
    assert line == f"error: {api_error(api, 'a portrait', face_png())}"
    assert all_jobs(tmp_path / "data") == []
    assert not any(p.is_file() for p in (tmp_path / "data" / "media").rglob("*"))


def test_an_unknown_model_is_refused_as_by_the_api(api: TestClient, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as refused:
        GenerationSpec.build("a boat", model="sora-3", size="1280x720", seconds=4)
    outcome = generate(tmp_path / "data", "a boat", "--seconds", "4", "--model", "sora-3")
    outcome.assert_one_error_line(f"--model: {refused.value}")
    assert all_jobs(tmp_path / "data") == []
    response = api.post("/v1/videos", json={"prompt": "a boat", **REQUEST, "model": "sora-3"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "model"


# -- a generated video, its retention deadline, and the sweep at start -------------------------


@dataclass(frozen=True)
class Generated:
    outcome: Outcome
    video: Path
    data_dir: Path
    expired: Job
    """A job finished an hour ago, whose deadline passed before ``generate`` ran."""


def expired_job(data_dir: Path) -> Job:
    """A job admitted and ended (cancelled) an hour ago, with a first frame and an output file
    on disk."""
    runtime = Runtime.open(settings_for(data_dir), clock=FakeClock(utcnow() - timedelta(hours=1)))
    try:
        with ImageFetcher() as fetcher:
            admission = build_admission(runtime, fetcher, Metrics(runtime.store))
            request = VideoRequest(
                "an old harbour", "sora-2", "1280x720", 4, make_image("PNG", 1280, 720)
            )
            job = admission.admit(None, request)
        runtime.blobs.put_bytes(layout.attempt_outputs(job.id, "old").video, b"old video")
        return runtime.store.request_cancel(job.id)
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("generate")
    expired = expired_job(root / "data")
    video = root / "out" / "lake.mp4"
    outcome = generate(root / "data", "a calm lake", "--seconds", "4", "-o", str(video))
    return Generated(outcome, video, root / "data", expired)


def test_generate_writes_a_playable_mp4(generated: Generated) -> None:
    assert generated.outcome.code == 0, generated.outcome.stderr
    info = probe(generated.video)
    assert (info.width, info.height) == (1280, 720)
    assert abs(info.duration - 4.0) <= 1 / 24
    assert info.video_codec == "h264" and info.audio_codec == "aac"


def test_generate_first_sweeps_expired_jobs_and_their_files(generated: Generated) -> None:
    runtime = Runtime.open(settings_for(generated.data_dir))
    try:
        with pytest.raises(JobNotFound):
            runtime.store.get_job(generated.expired.id)
        for prefix in layout.job_prefixes(generated.expired.id):
            assert list(runtime.blobs.list_prefix(prefix)) == []
    finally:
        runtime.close()


def test_a_generated_job_expires_after_the_retention_period(generated: Generated) -> None:
    [job] = all_jobs(generated.data_dir)
    assert job.expires_at is not None and job.outputs is not None
    deadline = job.created_at + timedelta(seconds=RETENTION_SECONDS)
    assert abs(job.expires_at - deadline) < timedelta(seconds=1)
    runtime = Runtime.open(settings_for(generated.data_dir))
    try:
        sweeper = RetentionSweeper(runtime, interval=3600)
        assert sweeper.sweep_once(now=job.expires_at - timedelta(seconds=1)) == 0
        assert sweeper.sweep_once(now=job.expires_at) == 1
        assert list(runtime.blobs.list_prefix(layout.outputs_prefix(job.id))) == []
    finally:
        runtime.close()


# -- the progress display: queued (N ahead) -> loading -> denoising -> encoding -> done -------


def descriptions(screen: str) -> list[str]:
    """The description column of each frame a terminal was sent (controls and bar removed)."""
    frames = re.split(r"[\r\n]", re.sub(r"\x1b\[[?0-9;]*[A-Za-z]", "", screen))
    cells = [re.split(r"\s{2,}|━", frame.strip())[0].strip() for frame in frames]
    return [cell for cell in cells if cell]


def test_the_progress_display_shows_each_phase_as_the_job_moves(tmp_path: Path) -> None:
    """The job moves through the real queue (this test is the worker); each state read back
    from the database is drawn at once, in order, on a terminal."""
    clock = FakeClock()
    runtime = Runtime.open(settings_for(tmp_path / "data"), clock=clock)
    screen = io.StringIO()
    watch = progress_watcher(
        Console(file=screen, force_terminal=True, width=120, color_system=None), now=clock
    )
    estimator = QueueEstimator(runtime, clock=clock, cache_seconds=0)
    try:
        ahead = runtime.database.enqueue(GenerationSpec.build("ahead", seconds=4, seed=1))
        clock.advance(1)
        ours = runtime.database.enqueue(GenerationSpec.build("ours", seconds=4, seed=1))

        def show() -> None:
            job = runtime.store.get_job(ours.id)
            watch(JobProgress(job, estimator.estimate(job)))

        show()
        lease = runtime.queue.claim("the-test", lease_seconds=600)
        assert lease is not None and lease.job_id == ahead.id
        clock.advance(10)
        runtime.queue.complete(lease, JobOutputs("v", "t", "s"), "testcard")
        show()
        lease = runtime.queue.claim("the-test", lease_seconds=600)
        assert lease is not None and lease.job_id == ours.id
        for progress, stage in [(0.05, "loading"), (0.5, "denoising"), (0.93, "encoding")]:
            clock.advance(5)
            runtime.queue.record_progress(lease, progress, stage)
            show()
        runtime.queue.complete(lease, JobOutputs("v", "t", "s"), "testcard")
        show()
        watch(None)
    finally:
        runtime.close()
    # The job ahead (4 s of video) took 10 s: that measured speed makes the estimates.
    assert list(dict.fromkeys(descriptions(screen.getvalue()))) == [
        "queued (1 ahead)",  # nothing measured yet: no time is promised
        "queued (0 ahead), starts in ~0 s",
        "loading, ~10 s left",  # 5 % done: mostly the measured 10 s
        "denoising, ~5 s left",
        "encoding, ~1 s left",
        "done",
    ]
