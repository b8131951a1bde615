"""The outbox: every job change records its event in the change's own transaction.

An event exists exactly when its change committed: each transition below writes one event of
the right type, a transaction that rolls back leaves neither the change nor its event (nor its
deliveries), and the event's body is the job as it stood after the change.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reelforge.domain.errors import JobFinished
from reelforge.domain.events import EventType, Surface, video_id
from reelforge.domain.jobs import JobOutputs, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.db import WRITE, create_db_engine
from reelforge.store.event_tables import webhook_deliveries, webhook_endpoints
from tests.support.clock import FakeClock
from tests.support.wait import wait_for

OWNER = "key_1"
OUTPUTS = JobOutputs("v.mp4", "t.webp", "s.jpg")


def spec() -> GenerationSpec:
    return GenerationSpec.build("a kite over a beach", seconds=4, seed=1)


def types(database: Database, job_id: str) -> list[str]:
    return [event.type.value for event in database.events.for_job(job_id)]


def test_a_job_that_completes_records_queued_started_progress_completed(
    database: Database,
) -> None:
    job = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    for progress in (0.05, 0.12, 0.19, 0.35, 0.35):
        database.queue.record_progress(lease, progress, "denoising")
    database.queue.heartbeat(lease, 0.5, lease_seconds=30, stage="encoding")
    database.queue.complete(lease, OUTPUTS, "testcard")
    # 0.12 crosses 10%, 0.35 crosses 20% and 30% at once (one event), 0.5 crosses 40% and 50%.
    assert types(database, job.id) == [
        "video.queued",
        "video.started",
        "video.progress",
        "video.progress",
        "video.progress",
        "video.completed",
    ]
    events = database.events.for_job(job.id)
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert len({e.id for e in events}) == len(events)
    last = json.loads(events[-1].payload)
    assert last["type"] == "video.completed" and last["object"] == "event"
    assert last["id"] == events[-1].id
    assert last["data"]["id"] == video_id(job.id) and last["data"]["task_id"] == job.id
    assert last["data"]["status"] == "completed" and last["data"]["progress"] == 100


def test_progress_event_bodies_carry_the_progress_reached(database: Database) -> None:
    job = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    database.queue.record_progress(lease, 0.3, "denoising")
    (progress,) = [e for e in database.events.for_job(job.id) if e.type is EventType.PROGRESS]
    data = json.loads(progress.payload)["data"]
    assert data["status"] == "running" and data["progress"] == 30


def test_failure_and_queued_cancel_record_their_terminal_events(database: Database) -> None:
    failing = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None and lease.job_id == failing.id
    database.queue.fail(lease, "engine_error", "out of memory")
    cancelled = database.enqueue(spec(), OWNER)
    database.jobs.request_cancel(cancelled.id)
    assert types(database, failing.id)[-1] == "video.failed"
    assert types(database, cancelled.id) == ["video.queued", "video.cancelled"]
    body = json.loads(database.events.for_job(failing.id)[-1].payload)["data"]
    assert body["error"] == {"code": "engine_error", "message": "out of memory"}


def test_a_running_cancel_is_announced_when_the_worker_stops(database: Database) -> None:
    job = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    flagged = database.jobs.request_cancel(job.id)
    assert flagged.status is Status.RUNNING and flagged.cancel_requested
    assert "video.cancelled" not in types(database, job.id)
    database.queue.cancelled(lease)
    assert types(database, job.id)[-1] == "video.cancelled"


def test_cancelling_a_finished_job_is_refused_and_records_nothing(database: Database) -> None:
    job = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    database.queue.complete(lease, OUTPUTS, "testcard")
    before = types(database, job.id)
    with pytest.raises(JobFinished) as refused:
        database.jobs.request_cancel(job.id)
    assert refused.value.status == "completed"
    assert database.jobs.get_job(job.id).status is Status.COMPLETED
    assert types(database, job.id) == before


def test_cancelling_a_cancelled_job_again_changes_nothing(database: Database) -> None:
    job = database.enqueue(spec(), OWNER)
    first = database.jobs.request_cancel(job.id)
    again = database.jobs.request_cancel(job.id)
    assert first == again and again.status is Status.CANCELLED
    assert types(database, job.id) == ["video.queued", "video.cancelled"]


def test_sweeping_a_lost_attempt_announces_requeue_then_failure(
    database: Database, clock: FakeClock
) -> None:
    job = database.enqueue(spec(), OWNER)
    for _ in range(2):
        assert database.queue.claim("w1", lease_seconds=30) is not None
        clock.advance(31)
        database.queue.sweep_expired(max_attempts=2)
    assert types(database, job.id) == [
        "video.queued",
        "video.started",
        "video.queued",
        "video.started",
        "video.failed",
    ]


def test_a_release_at_shutdown_puts_the_job_back_in_line(database: Database) -> None:
    job = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    database.queue.release(lease)
    assert types(database, job.id) == ["video.queued", "video.started", "video.queued"]


def add_endpoint(engine: sa.Engine, endpoint_id: str, url: str, kinds: list[str]) -> None:
    now = FakeClock()()
    with engine.begin() as conn:
        conn.execute(
            webhook_endpoints.insert().values(
                id=endpoint_id,
                owner=OWNER,
                name=endpoint_id,
                url=url,
                event_types=json.dumps(kinds),
                secret="whsec_c2VjcmV0",
                created_at=now,
                updated_at=now,
            )
        )


def deliveries(engine: sa.Engine) -> list[tuple[str, str | None, str]]:
    query = sa.select(
        webhook_deliveries.c.event_id, webhook_deliveries.c.endpoint_id, webhook_deliveries.c.url
    ).order_by(webhook_deliveries.c.event_seq, webhook_deliveries.c.url)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query).all()]  # type: ignore[misc]


def test_events_fan_out_to_subscribed_endpoints_and_the_jobs_own_url(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    add_endpoint(engine, "we_all", "https://a.example/hook", [t.value for t in EventType])
    add_endpoint(engine, "we_done", "https://b.example/hook", ["video.completed"])
    job = database.enqueue(spec(), OWNER, webhook_url="https://c.example/own")
    clock.advance(1)
    other_owner = database.enqueue(spec(), "key_2")
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None and lease.job_id == job.id
    database.queue.complete(lease, OUTPUTS, "testcard")
    events = {e.type: e.id for e in database.events.for_job(job.id)}
    assert deliveries(engine) == [
        (events[EventType.QUEUED], "we_all", "https://a.example/hook"),
        (events[EventType.STARTED], "we_all", "https://a.example/hook"),
        (events[EventType.COMPLETED], "we_all", "https://a.example/hook"),
        (events[EventType.COMPLETED], "we_done", "https://b.example/hook"),
        (events[EventType.COMPLETED], None, "https://c.example/own"),
    ]
    assert all(event.owner == "key_2" for event in database.events.for_job(other_owner.id))


def test_a_change_that_rolls_back_leaves_no_event_and_no_delivery(
    database: Database, engine: sa.Engine
) -> None:
    add_endpoint(engine, "we_all", "https://a.example/hook", [t.value for t in EventType])
    job = database.enqueue(spec(), OWNER)
    before_seq = database.events.last_seq()
    before = deliveries(engine)
    write = engine.connect().execution_options(**WRITE)
    with pytest.raises(RuntimeError), write as conn, conn.begin():
        conn.execute(sa.text("UPDATE jobs SET status = 'cancelled' WHERE id = :id"), {"id": job.id})
        database.events.record(conn, job.id, EventType.CANCELLED)
        raise RuntimeError("the change fails after its event was written")
    assert database.jobs.get_job(job.id).status is Status.QUEUED
    assert database.events.last_seq() == before_seq
    assert deliveries(engine) == before


def test_a_failed_enqueue_records_no_event(database: Database) -> None:
    database.enqueue(spec(), OWNER, job_id="11111111-1111-1111-1111-111111111111")
    seq = database.events.last_seq()
    with pytest.raises(Exception):  # noqa: B017 - the duplicate id's IntegrityError
        database.enqueue(spec(), OWNER, job_id="11111111-1111-1111-1111-111111111111")
    assert database.events.last_seq() == seq


def test_since_reads_every_jobs_events_in_order_and_filters_by_job(database: Database) -> None:
    first = database.enqueue(spec(), OWNER)
    second = database.enqueue(spec(), OWNER)
    everything = database.events.since(0)
    assert [e.job_id for e in everything] == [first.id, second.id]
    assert [e.job_id for e in database.events.since(everything[0].seq)] == [second.id]
    assert [e.job_id for e in database.events.since(0, [first.id])] == [first.id]


def test_committed_events_wake_waiters_here_at_once(database: Database) -> None:
    mark = database.signals.events_mark()
    database.enqueue(spec(), OWNER)
    assert database.signals.wait_for_events(mark, timeout=0)


def test_postgres_relays_another_process_events(pg_schema_url: str) -> None:
    listening = Database.open(pg_schema_url)
    other = Database(create_db_engine(pg_schema_url))  # another process: no shared Signals
    try:

        def enqueued_and_heard() -> bool:
            mark = listening.signals.events_mark()
            other.enqueue(spec(), OWNER, retention=timedelta(days=1))
            return listening.signals.wait_for_events(mark, 0.2)

        # Repeat until the listener's LISTEN is in place; then one NOTIFY gets through.
        wait_for(enqueued_and_heard)
    finally:
        other.close()
        listening.close()


def test_prune_forgets_old_events_but_keeps_those_a_delivery_waits_for(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    old = database.enqueue(spec(), OWNER)
    add_endpoint(engine, "we_done", "https://b.example/hook", ["video.cancelled"])
    waiting = database.enqueue(spec(), OWNER)
    database.jobs.request_cancel(waiting.id)  # a pending delivery needs this event
    clock.advance(3600)
    recent = database.enqueue(spec(), OWNER)
    assert database.events.prune(clock() - timedelta(minutes=1)) == 2
    assert database.events.for_job(old.id) == []
    assert types(database, waiting.id) == ["video.cancelled"]
    assert types(database, recent.id) == ["video.queued"]


@pytest.mark.parametrize(
    ("surface", "shown_as_video"),
    [("openai", True), ("seed", False), (None, True)],
)
def test_events_carry_the_id_of_the_surface_that_created_the_job(
    database: Database, surface: Surface | None, shown_as_video: bool
) -> None:
    job = database.enqueue(spec(), OWNER, surface=surface)
    (queued,) = database.events.for_job(job.id)
    data = json.loads(queued.payload)["data"]
    assert data["id"] == (video_id(job.id) if shown_as_video else job.id)
    assert data["task_id"] == job.id
    assert database.jobs.get_job(job.id).surface == surface


def test_each_progress_event_shows_a_percent_in_a_new_tens_band(database: Database) -> None:
    """Marks are counted on the percent clients see (rounded down), so a progress a hair
    under 20% (shown as 19) does not announce the 20% mark."""
    job = database.enqueue(spec(), OWNER)
    lease = database.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    for progress in (0.15, 0.2 - 1e-12, 0.2, 0.29999999, 0.3):
        database.queue.record_progress(lease, progress, "denoising")
    shown = [
        json.loads(e.payload)["data"]["progress"]
        for e in database.events.for_job(job.id)
        if e.type is EventType.PROGRESS
    ]
    assert shown == [15, 20, 30]
