"""The fake upstream server answers the real openai SDK as OpenAI's /v1/videos would, and as
the in-memory open servers do (jobs lost on restart, slow, failing, refusing prompts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from reelforge.media import probe
from tests.support.fake_upstream import FakeUpstream, FakeUpstreamBehaviour

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's Sora notice


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(FakeUpstreamBehaviour(render_seconds=0.3, poll_after_ms=50)) as fake:
        yield fake


def sdk(upstream: FakeUpstream, key: str | None = None, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=key or upstream.behaviour.api_key,
        base_url=upstream.api_base,
        max_retries=retries,
    )


def test_create_poll_download_delete_and_lose_jobs_on_restart(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    client = sdk(upstream)
    assert [m.id for m in client.models.list()] == upstream.behaviour.models
    created = client.videos.with_raw_response.create(
        model="fake-video-1", prompt="a lighthouse at dusk", size="1280x720", seconds="4"
    )
    assert created.headers["openai-poll-after-ms"] == "50"
    video = created.parse()
    assert (video.object, video.status, video.size, video.seconds) == (
        "video",
        "queued",
        "1280x720",
        "4",
    )
    done = client.videos.poll(video.id)  # waits as the header says
    assert (done.status, done.progress, done.error) == ("completed", 100, None)
    path = tmp_path / "upstream.mp4"
    client.videos.download_content(video.id).write_to_file(path)
    info = probe(path)  # what the in-memory servers hand back: not the size or length asked
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (
        1280,
        704,
        "h264",
        None,
    )
    assert abs(info.duration - 5.0) < 0.05
    assert client.videos.delete(video.id).deleted
    assert upstream.deletes == [video.id]
    survivor = client.videos.create(prompt="another", seconds="8")
    upstream.restart()
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(survivor.id)
    assert (upstream.creates, upstream.downloads) == (2, 1)
    assert upstream.gets >= 2


def test_first_frame_arrives_as_a_multipart_upload(upstream: FakeUpstream) -> None:
    png = b"\x89PNG\r\n\x1a\n fake image bytes"
    video = sdk(upstream).videos.create(
        prompt="animate this", input_reference=("frame.png", png, "image/png")
    )
    job = upstream.jobs[video.id]
    assert (job.input_reference, job.input_reference_type, job.prompt) == (
        png,
        "image/png",
        "animate this",
    )


def test_bad_key_moderation_and_unknown_model_are_openai_errors(upstream: FakeUpstream) -> None:
    with pytest.raises(openai.AuthenticationError) as bad_key:
        sdk(upstream, key="wrong").videos.create(prompt="x")
    assert bad_key.value.code == "invalid_api_key"
    client = sdk(upstream)
    marker = upstream.behaviour.moderation_marker
    with pytest.raises(openai.BadRequestError) as refused:
        client.videos.create(prompt=f"please show {marker}")
    assert refused.value.code == "moderation_blocked"
    with pytest.raises(openai.BadRequestError) as unknown:
        client.videos.create(prompt="x", model="sora-2")
    assert unknown.value.code == "model_not_found"
    upstream.behaviour.moderation_at = "render"
    accepted = client.videos.create(prompt=f"please show {marker}")
    failed = client.videos.poll(accepted.id)
    assert failed.status == "failed"
    assert failed.error is not None and failed.error.code == "moderation_blocked"
    assert upstream.creates == 1


def test_injected_server_errors_are_retried_by_the_sdk(upstream: FakeUpstream) -> None:
    upstream.behaviour.fail_every = 2
    client = sdk(upstream, retries=3)
    video = client.videos.create(prompt="flaky")
    assert client.videos.retrieve(video.id).id == video.id
    statuses = [r.status for r in upstream.requests]
    assert 500 in statuses and statuses.count(200) == 2
    assert upstream.creates == 1
