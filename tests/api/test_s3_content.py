"""Media in an S3 bucket (a real S3 protocol server on loopback): jobs complete into the bucket
and both surfaces serve the video, streamed through the API with Range support or redirected
to a presigned URL; retention deletes from the bucket. SQLite only: the database plays no part
in where media lives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

from reelforge.services.retention import RetentionSweeper
from reelforge.storage.s3 import S3BlobStore
from tests.support.apps import InProcessApp, running_app
from tests.support.s3 import S3Bucket, S3Server
from tests.support.wait import wait_for

SEED = "/vendors/openai/v1/sora/generation"


@pytest.fixture(scope="module")
def stream_app(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[InProcessApp, S3Bucket]]:
    bucket = s3_server.bucket()
    data_dir = tmp_path_factory.mktemp("s3-stream") / "data"
    with running_app(data_dir, **bucket.settings()) as app:
        yield app, bucket


@pytest.fixture(scope="module")
def redirect_app(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[InProcessApp, S3Bucket]]:
    bucket = s3_server.bucket()
    data_dir = tmp_path_factory.mktemp("s3-redirect") / "data"
    with running_app(data_dir, **bucket.settings(blob_downloads="redirect")) as app:
        yield app, bucket


def _completed_video(http: httpx2.Client) -> dict[str, Any]:
    video = http.post("/v1/videos", json={"prompt": "a lighthouse at dusk", "seconds": "4"})
    assert video.status_code == 200, video.text
    url = f"/v1/videos/{video.json()['id']}"
    body: dict[str, Any] = wait_for(
        lambda: (b := http.get(url).json())["status"] in ("completed", "failed") and b,
        timeout=120,
        interval=0.2,
    )
    assert body["status"] == "completed", body
    return body


def _completed_task(http: httpx2.Client) -> dict[str, Any]:
    task = http.post(SEED, json={"prompt": "a harbour in the rain", "seconds": "4"})
    assert task.status_code == 202, task.text
    url = f"{SEED}/{task.json()['task_info']['id']}"
    body: dict[str, Any] = wait_for(
        lambda: (b := http.get(url).json())["task_info"]["status"] in ("completed", "failed") and b,
        timeout=120,
        interval=0.2,
    )
    assert body["task_info"]["status"] == "completed", body
    return body


def _stored_video(app: InProcessApp, job_id: str) -> bytes:
    job = app.runtime.store.get_job(job_id)
    assert job.outputs is not None
    with app.runtime.blobs.open(job.outputs.video) as handle:
        return handle.read()


def _job_id(video_id: str) -> str:
    import uuid

    return str(uuid.UUID(video_id.removeprefix("video_")))


def test_streamed_downloads_answer_ranges(stream_app: tuple[InProcessApp, S3Bucket]) -> None:
    app, bucket = stream_app
    assert isinstance(app.runtime.blobs, S3BlobStore)
    with app.client() as http:
        video = _completed_video(http)
        job_id = _job_id(video["id"])
        assert any(key.startswith(f"media/jobs/{job_id}/") for key in bucket.object_keys())
        assert app.blob_count() == 0  # nothing in the local media directory
        stored = _stored_video(app, job_id)
        size = len(stored)
        content = f"/v1/videos/{video['id']}/content"
        whole = http.get(content)
        assert whole.status_code == 200 and whole.content == stored
        assert whole.headers["content-type"] == "video/mp4"
        assert whole.headers["content-length"] == str(size)
        assert whole.headers["accept-ranges"] == "bytes"
        part = http.get(content, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == stored[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{size}"
        tail = http.get(content, headers={"Range": "bytes=-64"})
        assert tail.status_code == 206 and tail.content == stored[-64:]
        open_ended = http.get(content, headers={"Range": f"bytes={size - 10}-"})
        assert open_ended.content == stored[-10:]
        beyond = http.get(content, headers={"Range": f"bytes={size}-"})
        assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
        garbled = http.get(content, headers={"Range": "pages=1-2"})  # ignored: whole file
        assert garbled.status_code == 200 and len(garbled.content) == size
        thumbnail = http.get(content, params={"variant": "thumbnail"})
        assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"


def test_seed_links_stream_from_the_bucket(stream_app: tuple[InProcessApp, S3Bucket]) -> None:
    app, _ = stream_app
    with app.client() as http:
        task = _completed_task(http)
    stored = _stored_video(app, task["task_info"]["id"])
    link = task["videos"][0]
    assert link.startswith(app.base_url + "/files/videos/")
    with app.anonymous() as browser:
        whole = browser.get(link)
        assert whole.status_code == 200 and whole.content == stored
        part = browser.get(link, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == stored[:100]


def test_retention_deletes_from_the_bucket(stream_app: tuple[InProcessApp, S3Bucket]) -> None:
    app, bucket = stream_app
    with app.client() as http:
        video = _completed_video(http)
        job = app.runtime.store.get_job(_job_id(video["id"]))
        assert job.expires_at is not None
        prefix = f"media/jobs/{job.id}/"
        assert any(key.startswith(prefix) for key in bucket.object_keys())
        RetentionSweeper(app.runtime, 3600).sweep_once(now=job.expires_at + timedelta(seconds=1))
        assert not any(job.id in key for key in bucket.object_keys())
        assert http.get(f"/v1/videos/{video['id']}/content").status_code == 404


def test_deleted_object_is_our_404(stream_app: tuple[InProcessApp, S3Bucket]) -> None:
    app, _ = stream_app
    with app.client() as http:
        video = _completed_video(http)
        app.runtime.blobs.remove_job(_job_id(video["id"]))  # files gone, row still there
        gone = http.get(f"/v1/videos/{video['id']}/content")
    assert gone.status_code == 404 and "gone" in gone.json()["error"]["message"]


def test_redirects_to_presigned_urls(redirect_app: tuple[InProcessApp, S3Bucket]) -> None:
    app, bucket = redirect_app
    with app.client() as http:
        video = _completed_video(http)
        task = _completed_task(http)
        stored = _stored_video(app, _job_id(video["id"]))
        moved = http.get(f"/v1/videos/{video['id']}/content")
    assert moved.status_code == 307 and moved.headers["cache-control"] == "no-store"
    location = moved.headers["location"]
    assert location.startswith(f"{bucket.endpoint}/{bucket.name}/media/jobs/")
    assert "X-Amz-Expires=300" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200 and fetched.content == stored
    assert fetched.headers["content-type"] == "video/mp4"
    part = httpx.get(location, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == stored[:100]
    # The seed surface's link stays ours (its lifetime, our errors) and redirects the same way.
    link = task["videos"][0]
    assert link.startswith(app.base_url + "/files/videos/")
    with app.anonymous() as browser:
        hop = browser.get(link)
    assert hop.status_code == 307 and hop.headers["location"].startswith(bucket.endpoint)
    assert httpx.get(hop.headers["location"]).content == _stored_video(app, task["task_info"]["id"])


def test_store_outage_answers_503(tmp_path: Path) -> None:
    """Its own S3 server, stopped once a video is stored: downloads answer 503, not 500."""
    with S3Server() as server:
        bucket = server.bucket()
        with running_app(tmp_path / "data", **bucket.settings()) as app, app.client() as http:
            video = _completed_video(http)
            server.stop()
            down = http.get(f"/v1/videos/{video['id']}/content")
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"] == "5"
            assert "media store is unavailable" in down.json()["error"]["message"]


def test_streamed_media_answers_head_and_revalidation(
    stream_app: tuple[InProcessApp, S3Bucket],
) -> None:
    app, _ = stream_app
    with app.client() as http:
        content = f"/v1/videos/{_completed_video(http)['id']}/content"
        whole = http.get(content)
        head = http.head(content)
        etag = whole.headers["etag"]
        again = http.get(content, headers={"If-None-Match": etag})
        resumed = http.get(content, headers={"Range": "bytes=0-9", "If-Range": etag})
        changed = http.get(content, headers={"Range": "bytes=0-9", "If-Range": '"older"'})
    per_answer = {"date", "x-request-id"}
    assert head.status_code == 200 and head.content == b""
    assert {k: v for k, v in head.headers.items() if k not in per_answer} == {
        k: v for k, v in whole.headers.items() if k not in per_answer
    }
    assert whole.headers["cache-control"].startswith("private, max-age=")
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert resumed.status_code == 206 and resumed.content == whole.content[:10]
    assert changed.status_code == 200 and changed.content == whole.content


def test_head_redirects_to_a_url_presigned_for_head(
    redirect_app: tuple[InProcessApp, S3Bucket],
) -> None:
    """A presigned URL is signed for one method (S3 refuses a HEAD on a GET's URL; the test
    server does not check), so a HEAD is sent to a URL presigned for HEAD, which answers with
    the file's size and type."""
    app, _ = redirect_app
    with app.client() as http:
        video = _completed_video(http)
        stored = _stored_video(app, _job_id(video["id"]))
        hop = http.head(f"/v1/videos/{video['id']}/content")
    assert hop.status_code == 307 and hop.headers["cache-control"] == "no-store"
    probed = httpx.head(hop.headers["location"])
    assert probed.status_code == 200, probed.text
    assert probed.headers["content-length"] == str(len(stored))
    assert probed.headers["content-type"] == "video/mp4"
