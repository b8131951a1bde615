"""ReelForge in front of another real ReelForge (testcard engine) on loopback, through both
upstream protocols: the OpenAI ``/v1/videos`` API and the seed gateway's task API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image

from reelforge.api.mapping import job_id_from_video_id
from reelforge.media import probe
from tests.support.live import LiveServer, running_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("upstream")) as server:
        yield server


def upstream_options(upstream: LiveServer, kind: str) -> dict[str, Any]:
    return {
        "allow_private": ["127.0.0.1/32"],
        "poll_max_seconds": 0.5,
        "upstreams": [
            {
                "name": f"rf-{kind}",
                "kind": kind,
                "base_url": upstream.base_url,
                "api_key": upstream.token,
                "max_in_flight": 2,
            }
        ],
    }


@pytest.fixture(scope="module", params=["openai", "seed"])
def front(
    request: pytest.FixtureRequest, upstream: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    kind = request.param
    options = upstream_options(upstream, kind)
    data_dir = tmp_path_factory.mktemp(f"front-{kind}")
    with running_server(data_dir, engine="upstream", engine_options=options) as server:
        yield server


def sdk(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=server.token, base_url=server.base_url + "/v1")


def job_id(video_id: str) -> str:
    found = job_id_from_video_id(video_id)
    assert found is not None
    return found


def first_frame_png(width: int, height: int) -> bytes:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def assert_meets_contract(path: Path, width: int, height: int, seconds: int) -> None:
    info = probe(path)
    assert (info.width, info.height) == (width, height)
    assert info.fps == pytest.approx(24.0)
    assert info.frame_count == seconds * 24 + 1 or info.duration == pytest.approx(seconds, abs=0.1)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.moov_before_mdat


def test_text_to_video_through_the_upstream(front: LiveServer, tmp_path: Path) -> None:
    client = sdk(front)
    video = client.videos.create_and_poll(
        prompt="wide shot of a lighthouse at dusk", seconds="4", size="1280x720"
    )
    assert video.status == "completed", video.error
    path = tmp_path / "t2v.mp4"
    client.videos.download_content(video.id).write_to_file(path)
    assert_meets_contract(path, 1280, 720, 4)
    tags = probe(path).tags
    assert tags.get("upstream", "").startswith("rf-")
    assert tags.get("upstream_id")
    job = front.runtime.store.get_job(job_id(video.id))
    assert job.engine_state["submissions"] == 1
    assert job.engine_state["conform"] == []  # ReelForge delivers the contract already


def test_image_to_video_through_the_upstream(
    front: LiveServer, upstream: LiveServer, tmp_path: Path
) -> None:
    client = sdk(front)
    frame = ("first.png", first_frame_png(720, 1280), "image/png")
    video = client.videos.create_and_poll(
        prompt="a paper boat drifting on a pond",
        seconds="4",
        size="720x1280",
        input_reference=frame,
    )
    assert video.status == "completed", video.error
    path = tmp_path / "i2v.mp4"
    client.videos.download_content(video.id).write_to_file(path)
    assert_meets_contract(path, 720, 1280, 4)
    # The upstream received the first frame: its own job has one.
    remote = str(front.runtime.store.get_job(job_id(video.id)).engine_state["remote_id"])
    remote_job = job_id(remote) if remote.startswith("video_") else remote.split(":")[-1]
    assert upstream.runtime.store.get_job(remote_job).spec.first_frame_key is not None
