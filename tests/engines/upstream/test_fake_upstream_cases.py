"""ReelForge in front of a fake upstream that behaves like the in-memory open video servers:
it forgets jobs when it restarts, returns a 5 s 1280x704 clip with no audio whatever was asked,
is slow, fails intermittently, and refuses prompts through moderation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.api.mapping import job_id_from_video_id
from reelforge.domain.jobs import Job, Status
from reelforge.media import probe
from tests.support.fake_upstream import FakeUpstream, FakeUpstreamBehaviour
from tests.support.live import LiveServer, running_server
from tests.support.s3 import free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def options(fake: FakeUpstream, **extra: Any) -> dict[str, Any]:
    return {
        "allow_private": ["127.0.0.1/32"],
        "poll_max_seconds": 0.5,
        "upstreams": [
            {
                "name": "fake",
                "base_url": fake.url,
                "api_key": fake.behaviour.api_key,
                "models": {"sora-2": "fake-video-1", "sora-2-pro": "fake-video-1-pro"},
                "max_in_flight": 4,
            }
        ],
        **extra,
    }


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(FakeUpstreamBehaviour(render_seconds=1.0)) as server:
        yield server


@pytest.fixture
def front(fake: FakeUpstream, tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path / "front", engine="upstream", engine_options=options(fake)) as s:
        yield s


def create(front: LiveServer, prompt: str, seconds: str = "8", size: str = "1280x720") -> str:
    with front.client() as http:
        answer = http.post("/v1/videos", json={"prompt": prompt, "seconds": seconds, "size": size})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def job_of(front: LiveServer, video_id: str) -> Job:
    job_id = job_id_from_video_id(video_id)
    assert job_id is not None
    return front.runtime.store.get_job(job_id)


def finished(front: LiveServer, video_id: str, timeout: float = 90) -> Job:
    wait_for(lambda: job_of(front, video_id).status.is_terminal, timeout=timeout, interval=0.1)
    return job_of(front, video_id)


def download(front: LiveServer, video_id: str, dest: Path) -> Path:
    with front.client() as http:
        answer = http.get(f"/v1/videos/{video_id}/content")
    assert answer.status_code == 200
    dest.write_bytes(answer.content)
    return dest


def test_odd_clip_is_delivered_to_the_contract(
    front: LiveServer, fake: FakeUpstream, tmp_path: Path
) -> None:
    video_id = create(front, "a tram crossing a bridge at dawn", seconds="8")
    job = finished(front, video_id)
    assert job.status is Status.COMPLETED, job.error_message
    info = probe(download(front, video_id, tmp_path / "v.mp4"))
    assert (info.width, info.height) == (1280, 720)
    assert info.fps == pytest.approx(24.0)
    assert info.duration == pytest.approx(8.0, abs=0.1)
    assert info.audio_codec == "aac"
    assert info.audio_duration == pytest.approx(8.0, abs=0.1)
    changes = " ".join(job.engine_state["conform"])
    assert "1280x704" in changes and "silent" in changes and "5.00 s" in changes
    assert info.tags.get("conform")
    assert fake.creates == 1
    sent = fake.requests_to("POST")[0]
    assert sent.status == 200


def test_job_lost_by_a_restarted_upstream_is_resubmitted(
    front: LiveServer, fake: FakeUpstream
) -> None:
    fake.behaviour.render_seconds = 3.0
    video_id = create(front, "a kite over dunes", seconds="4")
    wait_for(lambda: fake.creates == 1 and fake.gets >= 1, timeout=30, interval=0.05)
    fake.restart()
    job = finished(front, video_id)
    assert job.status is Status.COMPLETED, job.error_message
    assert fake.creates == 2
    assert job.engine_state["submissions"] == 2
    assert any("submitting it again" in line for line in job.engine_state["history"])


def test_slow_upstream_failing_intermittently_still_completes(
    front: LiveServer, fake: FakeUpstream
) -> None:
    fake.behaviour.render_seconds = 3.0
    fake.behaviour.fail_every = 3
    video_id = create(front, "rain on a greenhouse roof", seconds="4")
    job = finished(front, video_id)
    assert job.status is Status.COMPLETED, job.error_message
    assert fake.creates <= 2  # a 500 on create may be retried; never more
    assert any(r.status == 500 for r in fake.requests)


@pytest.mark.parametrize("where", ["create", "render"])
def test_moderation_refusal_fails_the_job_in_both_shapes(
    front: LiveServer, fake: FakeUpstream, where: str
) -> None:
    fake.behaviour.moderation_at = where  # type: ignore[assignment]
    video_id = create(front, f"a garden party {fake.behaviour.moderation_marker}")
    job = finished(front, video_id)
    assert job.status is Status.FAILED
    assert job.error_code == "moderation_blocked"
    with front.client() as http:
        video = http.get(f"/v1/videos/{video_id}").json()
        task = http.get(f"/vendors/openai/v1/sora/generation/{job.id}")
    assert video["status"] == "failed"
    assert video["error"]["code"] == "moderation_blocked"
    assert "moderation" in video["error"]["message"]
    assert fake.behaviour.api_key not in video["error"]["message"]
    if task.status_code == 200:  # created on the OpenAI surface; the seed view may differ
        assert "moderation" in task.json()["task_info"]["error"]["detail"]


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_cancel_and_delete_forward_delete_upstream_before_the_next_poll(
    front: LiveServer, fake: FakeUpstream, how: str
) -> None:
    fake.behaviour.render_seconds = 60.0
    fake.behaviour.poll_after_ms = 5000  # the engine polls only every 5 s
    video_id = create(front, "fog rolling over hills", seconds="4")
    wait_for(lambda: fake.gets >= 1, timeout=30, interval=0.05)
    polls_before = len(fake.requests_to("GET"))
    with front.client() as http:
        if how == "cancel":
            assert http.post(f"/v1/videos/{video_id}/cancel").status_code == 200
        else:
            assert http.delete(f"/v1/videos/{video_id}").status_code == 200
    wait_for(lambda: len(fake.deletes) == 1, timeout=10, interval=0.05)
    # The DELETE came before the engine's next poll: within one poll interval.
    assert len(fake.requests_to("GET")) == polls_before
    if how == "cancel":
        job = finished(front, video_id)
        assert job.status is Status.CANCELLED


def test_readiness_says_what_is_wrong_with_the_upstream(fake: FakeUpstream, tmp_path: Path) -> None:
    bad = options(fake)
    bad["upstreams"][0]["api_key"] = "wrong"
    with running_server(tmp_path / "bad", engine="upstream", engine_options=bad) as server:
        ready = wait_for(lambda: _not_ready(server), timeout=30, interval=0.1)
    assert "API key was refused" in ready.text
    assert "wrong" not in ready.text


def _not_ready(server: LiveServer) -> httpx.Response | None:
    answer = httpx.get(f"{server.base_url}/readyz", timeout=5)
    return answer if answer.status_code == 503 and "upstream" in answer.text else None


def test_per_upstream_metrics_are_served_by_the_worker(fake: FakeUpstream, tmp_path: Path) -> None:
    port = free_port()
    with running_server(
        tmp_path / "metrics",
        engine="upstream",
        engine_options=options(fake),
        worker_metrics_port=port,
    ) as server:
        video_id = create(server, "a windmill turning slowly", seconds="4")
        assert finished(server, video_id).status is Status.COMPLETED
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert (
        'reelforge_upstream_requests_total{operation="create",outcome="ok",upstream="fake"} 1.0'
        in text
    )
    assert 'reelforge_upstream_in_flight{upstream="fake"} 0.0' in text
    assert 'reelforge_upstream_healthy{upstream="fake"} 1.0' in text
    assert "reelforge_upstream_request_seconds_bucket" in text
