"""Cancel that keeps the record, on both surfaces: ``POST /v1/videos/{id}/cancel`` and
``POST /vendors/openai/v1/sora[-2-pro]/generation/{id}/cancel``.

A real worker runs a gated engine (it blocks before step 3 until the test opens the gate), so
"running" and "queued" are states the test holds, not races it hopes to win. A cancelled job
stays readable (failed + ``cancelled`` / 3002); a finished one answers 409 in the surface's
error shape; unknown and other keys' ids are 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from reelforge.api.mapping import job_id_from_video_id
from reelforge.worker import Worker
from tests.support.apps import InProcessApp, running_app
from tests.support.engines import GatedEngine
from tests.support.wait import wait_for

SEED = "/vendors/openai/v1/sora/generation"
SEED_PRO = "/vendors/openai/v1/sora-2-pro/generation"


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None
) -> Iterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("cancel") / "data"
    with running_app(data_dir, database_url=api_database_url, embedded_workers=False) as app:
        yield app


@pytest.fixture
def engine(app: InProcessApp) -> Iterator[GatedEngine]:
    """One worker slot on a gated engine, for this test only."""
    engine = GatedEngine(steps=20, gate_at=3)
    worker = Worker(app.runtime, engine=engine)
    worker.start()
    yield engine
    app.cancel_unfinished()
    engine.gate.set()
    worker.stop(grace=5)


@pytest.fixture
def client(app: InProcessApp) -> Iterator[httpx2.Client]:
    with app.client() as client:
        yield client


def create_video(client: httpx2.Client) -> dict[str, Any]:
    response = client.post("/v1/videos", json={"prompt": "a paper boat", "seconds": "4"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def create_task(client: httpx2.Client, base: str = SEED) -> dict[str, Any]:
    response = client.post(base, json={"prompt": "a paper boat", "seconds": "4"})
    assert response.status_code == 202, response.text
    info: dict[str, Any] = response.json()["task_info"]
    return info


def settled_video(client: httpx2.Client, video_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any]:
        body: dict[str, Any] = client.get(f"/v1/videos/{video_id}").json()
        return body if body["status"] in ("completed", "failed") else {}

    return wait_for(finished, timeout=60, interval=0.05)


def settled_task(client: httpx2.Client, task_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any]:
        info: dict[str, Any] = client.get(f"{SEED}/{task_id}").json()["task_info"]
        return info if info["status"] in ("completed", "failed") else {}

    return wait_for(finished, timeout=60, interval=0.05)


def test_openai_cancel_of_running_and_queued_videos_keeps_both_records(
    app: InProcessApp, engine: GatedEngine, client: httpx2.Client
) -> None:
    running = create_video(client)
    assert engine.reached_gate.wait(20)
    queued = create_video(client)  # the one slot is busy: this one waits

    answer = client.post(f"/v1/videos/{queued['id']}/cancel")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "failed"  # a queued video ends at once
    assert answer.json()["error"]["code"] == "cancelled"
    assert answer.json()["queue_position"] is None

    answer = client.post(f"/v1/videos/{running['id']}/cancel")
    assert answer.status_code == 200, answer.text
    # The flag is taken; the engine stops at its next step, so this answer may still say so.
    assert answer.json()["status"] == "in_progress"
    steps_at_cancel = len(engine.steps_started)
    engine.gate.set()

    final = settled_video(client, running["id"])
    assert final["status"] == "failed" and final["error"]["code"] == "cancelled"
    assert len(engine.steps_started) - steps_at_cancel <= 1  # stopped within one step
    for video in (running, queued):  # the records stay: readable and listed
        assert client.get(f"/v1/videos/{video['id']}").json()["error"]["code"] == "cancelled"
    listed = {video["id"] for video in client.get("/v1/videos").json()["data"]}
    assert {running["id"], queued["id"]} <= listed
    assert engine.steps_started.count(0) == 1  # the queued video never ran

    again = client.post(f"/v1/videos/{queued['id']}/cancel")  # already cancelled: a no-op
    assert again.status_code == 200 and again.json()["status"] == "failed"


@pytest.mark.parametrize("base", [SEED, SEED_PRO])
def test_seed_cancel_of_processing_and_pending_tasks_keeps_both_records(
    app: InProcessApp, engine: GatedEngine, client: httpx2.Client, base: str
) -> None:
    processing = create_task(client, base)
    assert engine.reached_gate.wait(20)
    pending = create_task(client, base)

    answer = client.post(f"{base}/{pending['id']}/cancel")
    assert answer.status_code == 200, answer.text
    info = answer.json()["task_info"]
    assert info["status"] == "failed" and info["error"]["code"] == 3002
    assert "queue_position" not in info  # omitted once it is not queued

    answer = client.post(f"{base}/{processing['id']}/cancel")
    assert answer.status_code == 200, answer.text
    assert answer.json()["task_info"]["status"] == "processing"
    engine.gate.set()

    final = settled_task(client, processing["id"])
    assert final["status"] == "failed" and final["error"]["code"] == 3002
    for task in (processing, pending):
        body = client.get(f"{base}/{task['id']}").json()
        assert body["task_info"]["error"]["code"] == 3002 and "videos" not in body


def test_cancel_of_a_completed_job_is_409_in_each_surfaces_shape(
    app: InProcessApp, engine: GatedEngine, client: httpx2.Client
) -> None:
    engine.gate.set()
    video = settled_video(client, create_video(client)["id"])
    assert video["status"] == "completed"

    refused = client.post(f"/v1/videos/{video['id']}/cancel")
    assert refused.status_code == 409
    assert refused.headers["x-should-retry"] == "false"  # the openai SDK would retry a 409
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "video_already_finished"
    assert "already completed" in error["message"] and "cannot be cancelled" in error["message"]

    task_id = job_id_from_video_id(video["id"])  # the same job, on the seed surface
    refused = client.post(f"{SEED}/{task_id}/cancel")
    assert refused.status_code == 409
    body = refused.json()
    assert body["status"] == 409 and body["instance"] == f"{SEED}/{task_id}/cancel"
    assert "already completed" in body["detail"] and body["error_code"] == 4009

    assert client.get(f"/v1/videos/{video['id']}").json()["status"] == "completed"  # unchanged


def test_unknown_and_other_keys_ids_are_404(app: InProcessApp, engine: GatedEngine) -> None:
    with app.client() as owner:
        video = create_video(owner)
        task = create_task(owner)
    with app.client(app.other_token) as stranger:
        for path in (
            f"/v1/videos/{video['id']}/cancel",
            "/v1/videos/video_" + "0" * 32 + "/cancel",
        ):
            response = stranger.post(path)
            assert (
                response.status_code == 404
                and "does not exist" in response.json()["error"]["message"]
            )
        for task_id in (task["id"], "not-a-uuid"):
            response = stranger.post(f"{SEED}/{task_id}/cancel")
            assert response.status_code == 404 and response.json()["error_code"] == 2005
    assert app.runtime.store.get_job(task["id"]).status.value in ("queued", "running")
