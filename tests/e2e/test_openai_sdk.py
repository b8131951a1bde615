"""The official ``openai`` package, unmodified, against a real ReelForge server."""

from __future__ import annotations

import io
from pathlib import Path

import httpx2
import openai
import pytest
from PIL import Image

from reelforge.media import probe
from tests.support.live import LiveServer
from tests.support.wait import wait_for

# The SDK marks the Sora endpoints deprecated (OpenAI shut them down); that is why we exist.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=live_server.token, base_url=live_server.base_url + "/v1")


@pytest.fixture(scope="module")
def completed(client: openai.OpenAI) -> openai.types.Video:
    return client.videos.create_and_poll(prompt="a red kite over a park", seconds="4")


def png_bytes(width: int, height: int, colour: tuple[int, int, int] = (20, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_create_and_poll_completes_with_openai_shapes(completed: openai.types.Video) -> None:
    assert completed.status == "completed"
    assert completed.id.startswith("video_") and len(completed.id) == 38
    assert completed.object == "video"
    assert completed.progress == 100
    assert completed.seconds == "4"
    assert completed.size == "720x1280"  # the OpenAI surface's default
    assert completed.model == "sora-2"
    assert completed.completed_at is not None and completed.completed_at >= completed.created_at
    assert completed.expires_at is not None and completed.expires_at > completed.created_at
    assert completed.error is None and completed.remixed_from_video_id is None


def test_download_content_all_variants(
    client: openai.OpenAI, completed: openai.types.Video, tmp_path: Path
) -> None:
    video = tmp_path / "video.mp4"
    client.videos.download_content(completed.id).write_to_file(video)
    info = probe(video)
    assert (info.width, info.height) == (720, 1280)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    thumbnail = client.videos.download_content(completed.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(thumbnail.content)).format == "WEBP"
    sprites = client.videos.download_content(completed.id, variant="spritesheet")
    assert sprites.response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(sprites.content)).format == "JPEG"


def test_content_supports_range_requests(
    live_server: LiveServer, completed: openai.types.Video
) -> None:
    url = f"/v1/videos/{completed.id}/content"
    with live_server.client() as http:
        whole = http.get(url)
        assert whole.headers["accept-ranges"] == "bytes"
        part = http.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
        assert part.content == whole.content[100:200]
        tail = http.get(url, headers={"Range": "bytes=-50"})
        assert tail.status_code == 206 and tail.content == whole.content[-50:]
        beyond = http.get(url, headers={"Range": f"bytes={len(whole.content) + 10}-"})
        assert beyond.status_code == 416
        assert beyond.headers["content-range"] == f"bytes */{len(whole.content)}"


def test_retrieve_sends_poll_after_header(
    live_server: LiveServer, client: openai.OpenAI, completed: openai.types.Video
) -> None:
    raw = client.videos.with_raw_response.retrieve(completed.id)
    assert raw.headers["openai-poll-after-ms"] == str(live_server.settings.poll_after_ms)
    assert raw.parse().id == completed.id


def test_list_paginates_across_pages(live_server: LiveServer) -> None:
    # A fresh key has a known, private set of videos.
    token = live_server.keys.create("pagination").token
    client = openai.OpenAI(api_key=token, base_url=live_server.base_url + "/v1")
    created = [client.videos.create(prompt=f"page test {i}", seconds="4").id for i in range(5)]
    first = client.videos.list(limit=2, order="asc")
    assert [v.id for v in first.data] == created[:2]
    assert first.has_more is True
    second = client.videos.list(limit=2, order="asc", after=first.data[-1].id)
    assert [v.id for v in second.data] == created[2:4]
    every = [v.id for v in client.videos.list(limit=2, order="asc")]  # auto-pagination
    assert every == created
    newest = client.videos.list(limit=10)
    assert [v.id for v in newest.data] == created[::-1]
    assert newest.has_more is False
    for video_id in created:
        client.videos.delete(video_id)


def test_delete_removes_row_and_files(
    live_server: LiveServer, client: openai.OpenAI, tmp_path: Path
) -> None:
    video = client.videos.create_and_poll(prompt="to be deleted", seconds="4")
    job_id = _job_id(video.id)
    blobs = live_server.runtime.blobs
    assert list(blobs.list_prefix(f"jobs/{job_id}"))
    deleted = client.videos.delete(video.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (video.id, "video.deleted", True)
    assert not list(blobs.list_prefix(f"jobs/{job_id}"))
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def test_delete_stops_running_work(live_server: LiveServer, client: openai.OpenAI) -> None:
    video = client.videos.create(prompt="stopped midway", seconds="12", size="1280x720")
    job_id = _job_id(video.id)
    store = live_server.runtime.store
    # Progress is recorded once the engine is generating (the worker has read the job).
    wait_for(lambda: store.get_job(job_id).progress > 0, interval=0.02)
    client.videos.delete(video.id)
    # The worker is fenced out: no output appears for the deleted job, and its slot frees up.
    wait_for(lambda: job_id not in _runs(live_server), timeout=5, interval=0.02)
    assert not list(live_server.runtime.blobs.list_prefix(f"jobs/{job_id}"))
    after = client.videos.create_and_poll(prompt="the next job still runs", seconds="4")
    assert after.status == "completed"


def test_remix_reuses_settings(client: openai.OpenAI, completed: openai.types.Video) -> None:
    remix = client.videos.remix(completed.id, prompt="the same kite at night")
    assert remix.remixed_from_video_id == completed.id
    assert (remix.size, remix.seconds, remix.status) == (completed.size, "4", "queued")
    done = client.videos.poll(remix.id)
    assert done.status == "completed" and done.prompt == "the same kite at night"


def test_file_input_reference(client: openai.OpenAI, tmp_path: Path) -> None:
    image = tmp_path / "first.png"
    image.write_bytes(png_bytes(1280, 720))
    video = client.videos.create_and_poll(
        prompt="a calm blue frame", seconds="4", size="1280x720", input_reference=image
    )
    assert video.status == "completed"
    frames = tmp_path / "out.mp4"
    client.videos.download_content(video.id).write_to_file(frames)
    assert (probe(frames).width, probe(frames).height) == (1280, 720)


@pytest.mark.parametrize("form", ["json", "multipart"])
def test_image_url_input_reference(live_server: LiveServer, form: str) -> None:
    # The SDK refuses a dict in input_reference, so both wire forms are sent by hand.
    url = live_server.images.image(f"/frame-{form}.png", png_bytes(720, 1280))
    with live_server.client() as http:
        if form == "json":
            body = {"prompt": "from a url", "seconds": "4", "input_reference": {"image_url": url}}
            response = http.post("/v1/videos", json=body)
        else:
            fields = {"prompt": "from a url", "seconds": "4", "input_reference[image_url]": url}
            response = http.post("/v1/videos", data=fields, files={"unused": ("", b"")})
    assert response.status_code == 200, response.text
    job = live_server.runtime.store.get_job(_job_id(response.json()["id"]))
    assert job.spec.first_frame_key == f"inputs/{job.id}/first_frame.png"
    stored = live_server.runtime.blobs.open(job.spec.first_frame_key).read()
    assert Image.open(io.BytesIO(stored)).size == (720, 1280)


def test_sdk_retry_after_lost_response_creates_one_job(live_server: LiveServer) -> None:
    """The SDK retries a POST whose response never came, without an Idempotency-Key."""
    seen: list[str] = []

    def drop_first_response(request: httpx2.Request) -> None:
        seen.append(request.headers.get("x-stainless-retry-count", ""))

    token = live_server.keys.create("retries").token
    transport = _DropFirstResponse(httpx2.HTTPTransport())
    http = openai.DefaultHttpxClient(
        transport=transport, event_hooks={"request": [drop_first_response]}
    )
    client = openai.OpenAI(
        api_key=token, base_url=live_server.base_url + "/v1", http_client=http, max_retries=2
    )
    video = client.videos.create(prompt="exactly once", seconds="4")
    assert seen == ["0", "1"]
    assert [v.id for v in client.videos.list()] == [video.id]


class _DropFirstResponse(httpx2.BaseTransport):
    """Delivers the first request to the server, then pretends the connection dropped."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner
        self.dropped = False

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        if not self.dropped and request.method == "POST":
            self.dropped = True
            response.read()
            raise httpx2.ReadError("connection reset by peer (simulated)", request=request)
        return response


def _job_id(video_id: str) -> str:
    import uuid

    return str(uuid.UUID(video_id.removeprefix("video_")))


def _runs(live_server: LiveServer) -> list[str]:
    """Job ids the embedded worker is running right now."""
    worker = live_server.app.state.context.worker
    return [run.job_id for run in worker.heartbeat.runs()]


def test_cancelled_video_reads_as_failed_with_code_cancelled(
    live_server: LiveServer, client: openai.OpenAI
) -> None:
    video = client.videos.create(prompt="cancel me", seconds="12")
    # The SDK has no videos.cancel: its generic post reaches ReelForge's cancel endpoint.
    answer = client.post(f"/videos/{video.id}/cancel", cast_to=openai.types.Video)
    assert answer.id == video.id
    done = client.videos.poll(video.id)
    assert done.status == "failed"
    assert done.error is not None and done.error.code == "cancelled"
    with pytest.raises(openai.NotFoundError, match="has no content"):  # as OpenAI answers
        client.videos.download_content(video.id)


def test_cancel_of_a_completed_video_is_a_conflict_the_sdk_does_not_retry(
    live_server: LiveServer, completed: openai.types.Video
) -> None:
    attempts: list[str] = []
    http = openai.DefaultHttpxClient(
        event_hooks={"request": [lambda request: attempts.append(request.url.path)]}
    )
    client = openai.OpenAI(
        api_key=live_server.token,
        base_url=live_server.base_url + "/v1",
        http_client=http,
        max_retries=3,  # the SDK retries a 409 unless told not to
    )
    with pytest.raises(openai.ConflictError, match="already completed"):
        client.post(f"/videos/{completed.id}/cancel", cast_to=openai.types.Video)
    assert attempts == [f"/v1/videos/{completed.id}/cancel"]
    assert client.videos.retrieve(completed.id).status == "completed"


def test_remix_prompt_goes_through_the_content_policy(
    live_server: LiveServer, client: openai.OpenAI, completed: openai.types.Video
) -> None:
    before = live_server.job_count()
    with pytest.raises(openai.BadRequestError) as refused:
        client.videos.remix(completed.id, prompt="a murder scene in a dark alley")
    assert refused.value.code == "moderation_blocked"
    assert "category: violence" in str(refused.value)
    assert live_server.job_count() == before
