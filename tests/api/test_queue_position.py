"""Queue position and ETA on both surfaces, and in /metrics.

The app runs on a fake clock with no workers of its own; the test is the one worker, through
the real queue (claim, progress, complete), so the expected figures are exact: three earlier
4-second videos took 10, 14 and 12 s (a median of 3 compute seconds per video second, 12 s per
4-second video). Five videos are then created alternately on the two surfaces; their positions
must count down 5 -> 1 as the worker takes them, and every estimate must be within
``TOLERANCE_SECONDS`` (the wire's whole seconds and milliseconds) of the figure the measured
throughput implies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest

from reelforge.api.mapping import iso_millis, job_id_from_video_id
from reelforge.domain.jobs import JobOutputs, Lease
from reelforge.domain.specs import GenerationSpec
from tests.api.test_metrics import sample
from tests.support.apps import InProcessApp, running_app
from tests.support.clock import FakeClock

SEED = "/vendors/openai/v1/sora/generation"
OUTPUTS = JobOutputs("v.mp4", "t.webp", "s.jpg")
JOB_SECONDS = 12  # 4 s of video at the measured 3 s per second
TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class Created:
    job_id: str
    path: str  # where its surface reads it
    openai: bool


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None, clock: FakeClock
) -> Iterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("queue") / "data"
    with running_app(
        data_dir, clock=clock, database_url=api_database_url, embedded_workers=False
    ) as app:
        yield app


def work_one(app: InProcessApp) -> Lease:
    lease = app.runtime.queue.claim("the-test", lease_seconds=3600)
    assert lease is not None
    return lease


def measured_history(app: InProcessApp, clock: FakeClock) -> None:
    for compute_seconds in (10, 14, 12):
        app.runtime.database.enqueue(GenerationSpec.build("history", seconds=4, seed=1))
        lease = work_one(app)
        clock.advance(compute_seconds)
        app.runtime.queue.complete(lease, OUTPUTS, "testcard")


def create(client: httpx2.Client, openai: bool) -> tuple[Created, dict[str, Any]]:
    """Create a 4-second video on one surface: where to read it, and the created answer."""
    body = {"prompt": "a paper boat on a pond", "seconds": "4"}
    if openai:
        video = client.post("/v1/videos", json=body).json()
        job_id = job_id_from_video_id(video["id"])
        assert job_id is not None
        return Created(job_id, f"/v1/videos/{video['id']}", True), video
    info = client.post(SEED, json=body).json()["task_info"]
    return Created(info["id"], f"{SEED}/{info['id']}", False), info


def read(client: httpx2.Client, job: Created) -> dict[str, Any]:
    response = client.get(job.path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body if job.openai else body["task_info"]


def assert_time(job: Created, field: Any, expected: datetime) -> None:
    """``field`` (unix seconds, or ISO ms Z on the seed surface) within the tolerance."""
    assert field is not None, f"no estimate where {expected} was due"
    if job.openai:
        error = abs(field - expected.timestamp())
    else:
        assert field == iso_millis(expected)  # same clock: exact to the millisecond
        error = 0.0
    assert error <= TOLERANCE_SECONDS, (field, expected)


def assert_queued(job: Created, body: dict[str, Any], position: int, start: datetime) -> None:
    assert body["status"] == ("queued" if job.openai else "pending")
    assert body["queue_position"] == position and body["phase"] == "queued"
    assert_time(job, body["estimated_start_at"], start)
    assert_time(job, body["estimated_completion_at"], start + timedelta(seconds=JOB_SECONDS))


def assert_running(job: Created, body: dict[str, Any], completion: datetime) -> None:
    assert body["status"] == ("in_progress" if job.openai else "processing")
    assert body["phase"] == "denoising"
    if job.openai:
        assert body["queue_position"] is None and body["estimated_start_at"] is None
    else:
        assert "queue_position" not in body and "estimated_start_at" not in body
    assert_time(job, body["estimated_completion_at"], completion)


def test_positions_count_down_and_etas_follow_measured_throughput(
    app: InProcessApp, clock: FakeClock
) -> None:
    app.cancel_unfinished()  # whatever another test left queued
    measured_history(app, clock)
    jobs: list[Created] = []
    with app.client() as client:
        for index in range(5):
            job, answer = create(client, openai=index % 2 == 0)
            # The create answer already carries the position, taken right after the enqueue.
            assert_queued(job, answer, index, clock() + timedelta(seconds=index * JOB_SECONDS))
            jobs.append(job)
            clock.advance(1)
        listed = {
            v["id"]: v for v in client.get("/v1/videos", params={"limit": 100}).json()["data"]
        }
        assert listed[jobs[0].path.rsplit("/", 1)[1]]["queue_position"] == 0  # 0 = next

        for index, job in enumerate(jobs):
            start = clock() + timedelta(seconds=index * JOB_SECONDS)
            assert_queued(job, read(client, job), index, start)

        while jobs:
            running, *jobs = jobs
            lease = work_one(app)
            assert lease.job_id == running.job_id  # claim order is the order positions promised
            clock.advance(6)
            app.runtime.queue.record_progress(lease, 0.5, "denoising")
            assert_running(running, read(client, running), clock() + timedelta(seconds=6))
            for index, job in enumerate(jobs):
                start = clock() + timedelta(seconds=6 + index * JOB_SECONDS)
                assert_queued(job, read(client, job), index, start)
            clock.advance(6)
            app.runtime.queue.complete(lease, OUTPUTS, "testcard")
            clock.advance(2)  # past the estimator's cache, as any later poll would be
            done = read(client, running)
            assert done["status"] == "completed"
            assert (
                done.get("queue_position") is None and done.get("estimated_completion_at") is None
            )


def test_metrics_show_measured_throughput_and_the_wait_of_a_new_job(
    app: InProcessApp, clock: FakeClock
) -> None:
    app.cancel_unfinished()  # whatever another test left queued
    measured_history(app, clock)
    with app.client() as client:
        for _ in range(2):
            create(client, openai=True)
    clock.advance(2)  # past the estimator's cache
    with app.anonymous() as http:
        text = http.get("/metrics").text
    app.cancel_unfinished()
    per_second = "reelforge_compute_seconds_per_video_second"
    assert sample(text, per_second, engine="testcard", model="sora-2") == 3.0
    # Two 4-second videos queued, nothing running: a new one waits for both.
    assert f"reelforge_queue_wait_estimate_seconds {2.0 * JOB_SECONDS}" in text.splitlines()
