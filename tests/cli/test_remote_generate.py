"""``reelforge generate --server``: the video is made by a live server (uvicorn on loopback,
testcard engine, its own workers): submitted through ``/v1/videos`` with every option, followed
live, downloaded; refusals are the server's words on one line. Without a server the command
renders locally, as ``tests/cli/test_generate.py`` checks."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from reelforge.api.mapping import job_id_from_video_id
from reelforge.domain.jobs import Job
from reelforge.media import probe
from tests.support.cli import KITE_PORTRAIT, generate_with_a_small_image
from tests.support.image_cases import make_image
from tests.support.live import LiveServer
from tests.support.remote_cli import files_in, one_line, run_remote


def made_job(server: LiveServer, stderr: str) -> Job:
    """The job behind the ``queued video_...`` line the command printed."""
    match = re.search(r"queued (video_[0-9a-f]{32}) on ", stderr)
    assert match, stderr
    job_id = job_id_from_video_id(match.group(1))
    assert job_id is not None
    return server.runtime.store.get_job(job_id, server.key_id)


def job_count(server: LiveServer) -> int:
    return len(server.runtime.store.list_jobs(server.key_id, limit=100))


def test_generate_on_a_server_writes_the_video_with_every_option(
    live_server: LiveServer, tmp_path: Path
) -> None:
    output = tmp_path / "videos" / "kite.mp4"
    outcome = run_remote(
        live_server,
        live_server.token,
        *KITE_PORTRAIT,
        "--model",
        "sora-2-pro",
        "--seed",
        "4242",
        "-o",
        str(output),
    )
    assert outcome.code == 0, outcome.stderr
    info = probe(output)
    assert (info.width, info.height) == (720, 1280)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    job = made_job(live_server, outcome.stderr)
    spec = job.spec
    assert (spec.prompt, spec.model, spec.size, spec.seconds, spec.seed) == (
        "A red kite over a grassy park",
        "sora-2-pro",
        "720x1280",
        4,
        4242,
    )
    assert f"wrote {output}" in outcome.stderr and "engine testcard" in outcome.stderr
    assert "testcard engine draws a test pattern" in outcome.stderr
    assert files_in(output.parent) == ["kite.mp4"]


def test_the_image_becomes_the_first_frame(live_server: LiveServer, tmp_path: Path) -> None:
    image = tmp_path / "first.png"
    image.write_bytes(make_image("PNG", 1280, 720))
    output = tmp_path / "framed.mp4"
    outcome = run_remote(
        live_server,
        live_server.token,
        "generate",
        "a harbour at dawn",
        "--seconds",
        "4",
        "--image",
        str(image),
        "-o",
        str(output),
    )
    assert outcome.code == 0, outcome.stderr
    assert made_job(live_server, outcome.stderr).spec.first_frame_key is not None
    with av.open(str(output)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    expected = np.asarray(Image.open(image).convert("RGB"), dtype=np.int16)
    assert float(np.abs(first.astype(np.int16) - expected).mean()) < 3.0


@pytest.mark.parametrize(
    ("prompt", "category"),
    [("Taylor Swift singing on a stage", "real_person"), ("Mickey Mouse surfing", "copyright")],
)
def test_a_refused_prompt_is_the_servers_one_line(
    live_server: LiveServer, tmp_path: Path, prompt: str, category: str
) -> None:
    before = job_count(live_server)
    outcome = run_remote(
        live_server, live_server.token, "generate", prompt, "-o", str(tmp_path / "x.mp4")
    )
    one_line(outcome, 2, f"(category: {category}", "(400)")
    assert job_count(live_server) == before and files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--size", "1024x1792", "--size: "),
        ("--seconds", "5", "--seconds: "),
        ("--model", "sora-3", "--model: "),
        ("--seed", "-1", "--seed: "),
    ],
)
def test_a_bad_option_is_named_on_one_line(
    live_server: LiveServer, tmp_path: Path, option: str, value: str, fragment: str
) -> None:
    outcome = run_remote(
        live_server,
        live_server.token,
        "generate",
        "a boat",
        option,
        value,
        "-o",
        str(tmp_path / "x.mp4"),
    )
    one_line(outcome, 2, fragment, "(400)")
    assert files_in(tmp_path) == []


def test_an_image_of_the_wrong_size_is_the_servers_one_line(
    live_server: LiveServer, tmp_path: Path
) -> None:
    outcome = run_remote(live_server, live_server.token, *generate_with_a_small_image(tmp_path))
    one_line(outcome, 2, "--image: ", "1280x720")
