"""The dispatcher with a real worker, a real receiver on loopback and both databases: retries
until the receiver is back, one accepted delivery per event, every attempt recorded."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.events import EventType
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.notify.dispatcher import WebhookDispatcher
from reelforge.notify.retry import RetryPolicy
from reelforge.store.db import WRITE
from reelforge.worker import Worker
from tests.support.settings import SettingsFactory
from tests.support.wait import wait_for
from tests.support.webhook_receiver import WebhookReceiver

FAST_RETRIES = RetryPolicy(offsets=tuple(0.1 * slot for slot in range(6000)))
"""An attempt every tenth of a second for ten minutes, so the test sees many retries."""


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def runtime(make_settings: SettingsFactory) -> Iterator[Runtime]:
    rt = Runtime.open(
        make_settings(webhook_allow_private=["127.0.0.1/32"], webhook_timeout_seconds=2.0)
    )
    yield rt
    rt.close()


@pytest.fixture
def dispatcher(runtime: Runtime) -> Iterator[WebhookDispatcher]:
    running = WebhookDispatcher(runtime, retry=FAST_RETRIES, threads=2, poll_seconds=0.05)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def worker(runtime: Runtime) -> Iterator[Worker]:
    running = Worker(runtime)
    running.start()
    yield running
    running.stop()


def test_receiver_down_then_up_gets_each_event_once_with_one_id(
    runtime: Runtime,
    receiver: WebhookReceiver,
    dispatcher: WebhookDispatcher,
    worker: Worker,
) -> None:
    key = runtime.keys.create("hooks").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "down", ["video.completed"])
    receiver.down = True
    jobs = [
        runtime.database.enqueue(GenerationSpec.build(f"clip {n}", seconds=4, seed=n), key)
        for n in range(3)
    ]

    # 1. While every attempt fails, the jobs still complete and the failures pile up.
    def completed_and_retried() -> bool:
        done = all(runtime.store.get_job(j.id).status is Status.COMPLETED for j in jobs)
        listed = runtime.webhooks.deliveries.list_deliveries(key)
        return done and len(listed) == 3 and all(d.attempts >= 3 for d in listed)

    wait_for(completed_and_retried, timeout=120)
    assert receiver.accepted() == []

    # 2. Back up: each event is accepted exactly once.
    receiver.down = False
    wait_for(lambda: len(receiver.accepted()) == 3, timeout=30)
    wait_for(
        lambda: all(
            d.status == "delivered" for d in runtime.webhooks.deliveries.list_deliveries(key)
        ),
        timeout=10,
    )
    accepted = Counter(json.loads(r.body)["data"]["task_id"] for r in receiver.accepted())
    assert accepted == {job.id: 1 for job in jobs}

    # 3. Every attempt of an event carried the same webhook-id, and each was recorded.
    for delivery in runtime.webhooks.deliveries.list_deliveries(key):
        sent = [r for r in receiver.all() if json.loads(r.body)["id"] == delivery.event_id]
        assert {r.headers["webhook-id"] for r in sent} == {delivery.event_id}
        attempts = runtime.webhooks.deliveries.attempts(delivery.id)
        assert [a.attempt for a in attempts] == list(range(1, len(sent) + 1))
        assert [a.status_code for a in attempts] == [503] * (len(sent) - 1) + [200]
        assert attempts[0].error == "the receiver answered HTTP 503"
        assert attempts[-1].error is None and all(a.latency_ms > 0 for a in attempts)
        assert delivery.attempts == len(sent) and delivery.last_status_code == 200


def test_unreachable_receiver_is_retried_and_recorded(
    runtime: Runtime, dispatcher: WebhookDispatcher, worker: Worker
) -> None:
    with WebhookReceiver() as gone:
        url = gone.url  # a loopback port nobody listens on once the receiver has stopped
    key = runtime.keys.create("hooks").key.id
    runtime.webhooks.create_endpoint(key, url, "gone", ["video.queued"])
    runtime.database.enqueue(GenerationSpec.build("a quiet street", seconds=4), key)

    def retried() -> list[str | None]:
        listed = runtime.webhooks.deliveries.list_deliveries(key)
        if not listed or listed[0].attempts < 2:
            return []
        return [a.error for a in runtime.webhooks.deliveries.attempts(listed[0].id)]

    errors = wait_for(retried, timeout=30)
    assert all(error and "Connection refused" in error for error in errors), errors
    delivery = runtime.webhooks.deliveries.list_deliveries(key)[0]
    assert delivery.status == "pending" and delivery.last_status_code is None


class RolledBack(Exception):
    pass


def test_a_rolled_back_change_is_never_delivered(
    runtime: Runtime, receiver: WebhookReceiver
) -> None:
    key = runtime.keys.create("hooks").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "rollback", ["video.completed"])
    job = runtime.database.enqueue(GenerationSpec.build("a harbour", seconds=4), key)
    engine = runtime.database._engine
    with (
        pytest.raises(RolledBack),
        engine.connect().execution_options(**WRITE) as conn,
        conn.begin(),
    ):
        assert runtime.database.events.record(conn, job.id, EventType.COMPLETED) is not None
        raise RolledBack  # the change this event announced did not happen
    dispatcher = WebhookDispatcher(runtime, retry=FAST_RETRIES, threads=1)
    assert dispatcher.dispatch_once() == 0
    assert runtime.webhooks.deliveries.list_deliveries() == []
    assert receiver.all() == []
