"""The outbox survives a crash: a worker process SIGKILLed while it is sending a job's
``video.completed`` (the state change committed, the receiver never answered) still has the
event delivered, once, by another process's dispatcher. A change that rolls back never
produces an event (tests/store/test_webhooks.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.notify.dispatcher import WebhookDispatcher
from reelforge.store.types import utcnow
from tests.support.clock import FakeClock
from tests.support.settings import SettingsFactory, subprocess_env
from tests.support.wait import wait_for
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = subprocess_env(
        settings,
        REELFORGE_WEBHOOK_ALLOW_PRIVATE='["127.0.0.1/32"]',
        REELFORGE_WEBHOOK_TIMEOUT_SECONDS="30",
    )
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "reelforge.cli", "worker"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_during_the_send_still_delivers_after_restart(
    make_settings: SettingsFactory, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    settings = make_settings(webhook_allow_private=["127.0.0.1/32"])
    runtime = Runtime.open(settings)
    key = runtime.keys.create("crash").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "crash", ["video.completed"])
    receiver.hold()  # the worker's send will hang: it is killed with the request in flight
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        job = runtime.database.enqueue(GenerationSpec.build("a ferry at dawn", seconds=4), key)
        wait_for(lambda: receiver.all(), timeout=120)  # the delivery reached the receiver
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    receiver.release()
    assert runtime.store.get_job(job.id).status is Status.COMPLETED
    assert receiver.accepted() == []
    [delivery] = runtime.webhooks.deliveries.list_deliveries(key)
    assert delivery.status == "pending" and delivery.attempts == 0  # its lease is still held
    runtime.close()

    # Another process (this one), ten minutes later: the dead worker's lease has expired.
    later = FakeClock(utcnow() + timedelta(minutes=10))
    restarted = Runtime.open(settings, clock=later)
    dispatcher = WebhookDispatcher(restarted, poll_seconds=0.05)
    dispatcher.start()
    try:
        wait_for(lambda: receiver.accepted(), timeout=30)
        wait_for(
            lambda: restarted.webhooks.deliveries.get(delivery.id).status == "delivered",  # type: ignore[union-attr]
            timeout=10,
        )
    finally:
        dispatcher.stop()
        restarted.close()
    [accepted] = receiver.accepted()
    body = json.loads(accepted.body)
    assert (body["type"], body["data"]["task_id"]) == ("video.completed", job.id)
    first = receiver.all()[0]
    assert first.headers["webhook-id"] == accepted.headers["webhook-id"] == delivery.event_id
