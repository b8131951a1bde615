"""``GET /v1/admin/status``: the queue and the workers for admin keys; 403 for other keys."""

from __future__ import annotations

import time
from pathlib import Path

from reelforge.domain.jobs import Status
from reelforge.engines.testcard import MODEL, TestcardEngine
from reelforge.worker.presence import WorkerPresence
from tests.support.apps import InProcessApp, running_app
from tests.support.clock import FakeClock


def admin_token(app: InProcessApp) -> str:
    return app.runtime.keys.create("operator", admin=True).token


def test_an_ordinary_key_gets_403_in_the_openai_shape(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        response = http.get("/v1/admin/status")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == "admin_required"
    assert "reelforge keys create --admin" in error["message"]


def test_no_key_is_401(api_app: InProcessApp) -> None:
    with api_app.anonymous() as http:
        response = http.get("/v1/admin/status")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_admin_sees_the_queue_and_the_embedded_worker(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        done = http.post("/v1/videos", json={"prompt": "a kite over a beach", "seconds": "4"})
    assert done.status_code == 200, done.text
    with api_app.client(admin_token(api_app)) as http:
        response = http.get("/v1/admin/status")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "admin.status" and body["engine"] == "testcard"
    assert body["ready"] is True and body["not_ready_reason"] is None
    counts = body["queue"]["counts"]
    assert set(counts) == {status.value for status in Status}
    assert sum(counts.values()) == api_app.job_count()
    assert abs(body["generated_at"] - time.time()) < 60
    mine = [w for w in body["workers"] if w["id"] == api_app.context.worker.presence.id]
    assert len(mine) == 1, body["workers"]
    worker = mine[0]
    assert worker["engine"] == "testcard" and worker["models"] == [MODEL]
    assert worker["state"] == "loaded" and worker["alive"] is True and worker["error"] is None
    assert worker["concurrency"] == api_app.settings.worker_concurrency
    assert worker["gpu"] is None  # the test card never touches a GPU
    assert worker["last_seen_age_seconds"] < api_app.settings.worker_stale_seconds
    assert body["engine_errors"] == []


def test_queue_age_and_engine_errors_of_an_external_fleet(
    tmp_path: Path, database_url: str
) -> None:
    clock = FakeClock()
    with running_app(
        tmp_path / "data", clock=clock, database_url=database_url, embedded_workers=False
    ) as app:
        token = admin_token(app)
        with app.client(token) as http:
            empty = http.get("/v1/admin/status").json()
            assert empty["queue"]["oldest_queued_age_seconds"] is None
            assert empty["workers"] == [] and empty["ready"] is True
            for prompt in ("first in line", "second in line"):
                created = http.post("/v1/videos", json={"prompt": prompt, "seconds": "4"})
                assert created.status_code == 200, created.text
                clock.advance(30)
            broken = WorkerPresence(
                app.runtime.database.workers,
                "gpu-2:77",
                TestcardEngine(),
                concurrency=2,
                interval=3600,
                running=lambda: 0,
            )
            broken.start()
            broken.set_state("failed", "CUDA out of memory while loading the transformer")
            body = http.get("/v1/admin/status").json()
    assert body["queue"]["counts"]["queued"] == 2
    assert body["queue"]["oldest_queued_age_seconds"] == 60.0
    assert body["ready"] is False and "2 jobs queued" in body["not_ready_reason"]
    (worker,) = body["workers"]
    assert worker["name"] == "gpu-2:77" and worker["state"] == "failed"
    assert worker["alive"] is True and worker["concurrency"] == 2
    assert body["engine_errors"] == [
        {
            "worker": "gpu-2:77",
            "engine": "testcard",
            "error": "CUDA out of memory while loading the transformer",
        }
    ]
