"""The event stream routes in-process (TestClient, real database, a real worker started by the
test): a job followed from queued to completed, resume with Last-Event-ID, the seed shape,
queue position updates, 404s, and streams unregistering when the client goes away."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest

from reelforge.api.schemas.openai import Video
from reelforge.api.schemas.seed import SeedTaskResponse
from reelforge.services.watch import JobWatchHub
from reelforge.worker import Worker
from tests.support.apps import InProcessApp, running_app
from tests.support.engines import SLOW_ENGINE
from tests.support.sse import SseEvent, parse_events
from tests.support.wait import wait_for

SEED = "/vendors/openai/v1/sora/generation"
BODY = {"prompt": "a lighthouse at dusk, waves rolling in", "seconds": "4", "size": "720x1280"}


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None
) -> Iterator[InProcessApp]:
    """No embedded workers: each test starts one when it wants its jobs to run. Each frame of
    the testcard takes 30 ms, so a 4 s job runs for about 3 s."""
    data_dir = tmp_path_factory.mktemp("events") / "data"
    with running_app(
        data_dir,
        database_url=api_database_url,
        embedded_workers=False,
        engine=SLOW_ENGINE,
        engine_options={"step_delay": 0.03},
        event_stream_poll_seconds=0.2,
    ) as served:
        yield served


@contextmanager
def worker(app: InProcessApp) -> Iterator[Worker]:
    running = Worker(app.runtime)
    running.start()
    try:
        yield running
    finally:
        running.stop(grace=0)


def hub(app: InProcessApp) -> JobWatchHub:
    assert app.context.watch_hub is not None
    return app.context.watch_hub


def read_all(
    client: httpx2.Client, path: str, headers: dict[str, str] | None = None
) -> list[SseEvent]:
    """Every event of a stream that ends (its job ends)."""
    with client.stream("GET", path, headers=headers or {}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(parse_events(response.iter_lines()))


def create_video(client: httpx2.Client) -> str:
    response = client.post("/v1/videos", json=BODY)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_a_stream_follows_a_video_from_queued_to_completed(app: InProcessApp) -> None:
    with app.client() as client:
        video_id = create_video(client)
        with client.stream("GET", f"/v1/videos/{video_id}/events") as response:
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            events = parse_events(response.iter_lines())
            first = next(events)
            with worker(app):
                rest = list(events)
    assert first.event == "queued" and first.retry == 2000
    assert Video.model_validate_json(first.data).queue_position == 0
    names = [e.event for e in rest]
    assert names[0] == "started" and names[-1] == "completed"
    assert set(names[1:-1]) == {"progress"}, names
    videos = [Video.model_validate_json(e.data) for e in [first, *rest]]
    progress = [v.progress for v in videos if v.status == "in_progress"]
    assert progress == sorted(progress) and progress[-1] > progress[0]
    assert videos[-1].status == "completed" and videos[-1].progress == 100
    ids = [int(e.id) for e in [first, *rest] if e.id is not None]
    assert ids == sorted(ids) and len(ids) == len(rest) + 1
    # While running, progress at least once a second: on average over the run (single gaps
    # depend on the machine's scheduling; the session tests check the cadence exactly).
    running = [e.received_at for e in rest[:-1]]
    assert len(running) >= 3
    assert (running[-1] - running[0]) / (len(running) - 1) <= 1.05


def test_last_event_id_replays_what_was_missed(app: InProcessApp) -> None:
    with app.client() as client:
        video_id = create_video(client)
        with client.stream("GET", f"/v1/videos/{video_id}/events") as response:
            events = parse_events(response.iter_lines())
            full = [next(events)]  # queued, before any worker runs
            with worker(app):
                full += list(events)
        current = read_all(client, f"/v1/videos/{video_id}/events")
        first_id = next(e.id for e in full if e.id is not None)
        resumed = read_all(
            client, f"/v1/videos/{video_id}/events", {"Last-Event-ID": str(first_id)}
        )
        garbage = read_all(client, f"/v1/videos/{video_id}/events", {"Last-Event-ID": "x;1"})
    # A finished job without Last-Event-ID: its terminal state, then the stream closes.
    assert [e.event for e in current] == ["completed"]
    assert current[0].id == full[-1].id
    # Resumed: every recorded event after the id, each with the state it recorded.
    assert resumed[0].event == "started" and resumed[-1].event == "completed"
    assert all(int(e.id or 0) > int(first_id) for e in resumed)
    started = Video.model_validate_json(resumed[0].data)
    assert started.status == "in_progress" and started.progress < 100
    recorded = [Video.model_validate_json(e.data).progress for e in resumed[1:-1]]
    # One recorded progress event per 10% crossed (with the progress written at that moment).
    assert recorded == sorted(recorded) and len({p // 10 for p in recorded}) == len(recorded)
    # Not one of our ids: ignored, the stream starts from the current state.
    assert [e.event for e in garbage] == ["completed"]


def test_seed_stream_carries_task_info_progress_and_the_video_link(app: InProcessApp) -> None:
    with app.client() as client:
        created = client.post(SEED, json=BODY)
        assert created.status_code == 202, created.text
        task_id = created.json()["task_info"]["id"]
        with worker(app):
            events = read_all(client, f"{SEED}/{task_id}/events")
        pro = read_all(client, f"/vendors/openai/v1/sora-2-pro/generation/{task_id}/events")
    tasks = [SeedTaskResponse.model_validate_json(e.data) for e in events]
    assert tasks[-1].task_info.status == "completed"
    assert tasks[-1].videos and "/files/videos/" in tasks[-1].videos[0]
    progress = [e.json()["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    assert {t.task_info.status for t in tasks} <= {"pending", "processing", "completed"}
    assert [e.event for e in pro] == ["completed"]


def test_queued_is_sent_again_when_the_position_moves(app: InProcessApp) -> None:
    with app.client() as client:
        ahead, behind = create_video(client), create_video(client)
        with client.stream("GET", f"/v1/videos/{behind}/events") as response:
            events = parse_events(response.iter_lines())
            assert Video.model_validate_json(next(events).data).queue_position == 1
            app.runtime.store.request_cancel(_job_id(ahead))
            moved = next(events)
            assert moved.event == "queued"
            assert Video.model_validate_json(moved.data).queue_position == 0
            app.runtime.store.request_cancel(_job_id(behind))
            assert next(events).event == "cancelled"


def test_unknown_and_other_tenants_ids_are_404_in_each_surface_shape(app: InProcessApp) -> None:
    with app.client() as client:
        video_id = create_video(client)
        with app.client(app.other_token) as other:
            foreign = other.get(f"/v1/videos/{video_id}/events")
        unknown = client.get("/v1/videos/video_" + "0" * 32 + "/events")
        malformed = client.get("/v1/videos/not-a-video/events")
        seed = client.get(f"{SEED}/00000000-0000-0000-0000-000000000000/events")
        anonymous = app.anonymous().get(f"/v1/videos/{video_id}/events")
        app.runtime.store.request_cancel(_job_id(video_id))
    for response in (foreign, unknown, malformed):
        assert response.status_code == 404
        assert "does not exist" in response.json()["error"]["message"]
    assert seed.status_code == 404 and seed.json()["error_code"] == 2005
    assert anonymous.status_code == 401


def test_a_client_that_leaves_is_unregistered(app: InProcessApp) -> None:
    with app.client() as client:
        video_id = create_video(client)
        before = hub(app).watching()
        for _ in range(3):
            with client.stream("GET", f"/v1/videos/{video_id}/events") as response:
                events = parse_events(response.iter_lines())  # held: dropping it closes the stream
                assert next(events).event == "queued"
                assert hub(app).watching() == before + 1
        wait_for(lambda: hub(app).watching() == before, timeout=10)
        app.runtime.store.request_cancel(_job_id(video_id))


def _job_id(video_id: str) -> str:
    hex_id = video_id.removeprefix("video_")
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def test_the_openapi_document_describes_the_events_the_streams_send(app: InProcessApp) -> None:
    with app.client() as client:
        document = client.get("/openapi.json").json()
        video_id = create_video(client)
        app.runtime.store.request_cancel(_job_id(video_id))
        events = read_all(client, f"/v1/videos/{video_id}/events")
    paths = [p for p in document["paths"] if p.endswith("/events")]
    assert len(paths) == 3
    for path in paths:
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        schema = content["text/event-stream"]["schema"]
        assert {"event", "data"} <= set(schema["required"])
        for event in events:
            assert event.event in schema["properties"]["event"]["enum"]
            assert event.id is not None and event.id.isdigit()
            Video.model_validate_json(event.data)
    assert [e.event for e in events] == ["cancelled"]
