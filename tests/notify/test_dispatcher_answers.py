"""What the receiver answers steers the delivery (SECURITY.md "Webhooks"): ``Retry-After``
delays the next attempt (up to the schedule's end), and 410 Gone disables the endpoint, fails
its pending deliveries and stops new ones until the endpoint is updated. A real receiver on
loopback, both databases, and an injected clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from reelforge.core.runtime import Runtime
from reelforge.domain.specs import GenerationSpec
from reelforge.notify.dispatcher import WebhookDispatcher
from reelforge.notify.retry import RetryPolicy
from tests.support.clock import FakeClock
from tests.support.settings import SettingsFactory
from tests.support.webhook_receiver import WebhookReceiver

NO_JITTER = RetryPolicy(jitter=0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(make_settings: SettingsFactory, clock: FakeClock) -> Iterator[Runtime]:
    settings = make_settings(webhook_allow_private=["127.0.0.1/32"], webhook_timeout_seconds=5)
    rt = Runtime.open(settings, clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def dispatcher(runtime: Runtime) -> WebhookDispatcher:
    return WebhookDispatcher(runtime, retry=NO_JITTER, threads=1)  # driven by dispatch_once


def queued_event(runtime: Runtime, owner: str, prompt: str = "a lighthouse") -> str:
    """Enqueue a job (its video.queued event goes to the owner's endpoints); its id."""
    return runtime.database.enqueue(GenerationSpec.build(prompt, seconds=4), owner).id


def test_retry_after_seconds_delays_the_next_attempt(
    runtime: Runtime, receiver: WebhookReceiver, dispatcher: WebhookDispatcher, clock: FakeClock
) -> None:
    key = runtime.keys.create("hooks").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "busy", ["video.queued"])
    receiver.answers = [(429, {"Retry-After": "120"})]
    queued_event(runtime, key)
    sent_at = clock()

    assert dispatcher.dispatch_once() == 1
    [delivery] = runtime.webhooks.deliveries.list_deliveries(key)
    # The schedule alone would have tried again after 5 s.
    assert delivery.status == "pending"
    assert delivery.next_attempt_at == sent_at + timedelta(seconds=120)
    clock.advance(119)
    assert dispatcher.dispatch_once() == 0  # not before the receiver asked
    clock.advance(1)
    assert dispatcher.dispatch_once() == 1
    attempts = runtime.webhooks.deliveries.attempts(delivery.id)
    assert [a.status_code for a in attempts] == [429, 200]
    assert [r.status for r in receiver.all()] == [429, 200]


def test_retry_after_past_the_schedule_makes_the_last_attempt_at_its_end(
    runtime: Runtime, receiver: WebhookReceiver, dispatcher: WebhookDispatcher, clock: FakeClock
) -> None:
    key = runtime.keys.create("hooks").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "away", ["video.queued"])
    receiver.answers = [(503, {"Retry-After": str(3 * 86400)}), (503, {})]
    queued_event(runtime, key)
    created = clock()

    dispatcher.dispatch_once()
    [delivery] = runtime.webhooks.deliveries.list_deliveries(key)
    assert delivery.next_attempt_at == created + timedelta(hours=24)
    clock.advance(24 * 3600)
    assert dispatcher.dispatch_once() == 1
    [delivery] = runtime.webhooks.deliveries.list_deliveries(key)
    assert (delivery.status, delivery.attempts) == ("failed", 2)  # that was the last attempt
    assert delivery.last_error == "the receiver answered HTTP 503"


def test_410_gone_disables_the_endpoint_and_fails_its_pending_deliveries(
    runtime: Runtime, receiver: WebhookReceiver, dispatcher: WebhookDispatcher, clock: FakeClock
) -> None:
    key = runtime.keys.create("hooks").key.id
    gone = runtime.webhooks.create_endpoint(key, receiver.url, "gone", ["video.queued"])
    with WebhookReceiver() as other_receiver:
        other = runtime.webhooks.create_endpoint(key, other_receiver.url, "ok", ["video.queued"])
        receiver.answers = [(410, {})]
        first, second = queued_event(runtime, key, "one"), queued_event(runtime, key, "two")

        while dispatcher.dispatch_once():
            pass
        # One request reached the gone receiver; the other endpoint got both events.
        assert [r.status for r in receiver.all()] == [410]
        assert len(other_receiver.accepted()) == 2

        disabled = runtime.webhooks.get_endpoint(key, gone.id)
        assert disabled.disabled_at == clock()
        at = clock().isoformat(timespec="seconds")
        assert disabled.disabled_reason == f"the receiver answered 410 Gone at {at}"
        assert runtime.webhooks.get_endpoint(key, other.id).disabled_at is None
        failed = runtime.webhooks.deliveries.list_deliveries(key, endpoint_id=gone.id)
        assert {d.status for d in failed} == {"failed"} and len(failed) == 2
        errors = sorted(str(d.last_error) for d in failed)
        assert errors[0] == (
            f"endpoint disabled: {disabled.disabled_reason}; update the endpoint to enable it, "
            "then replay"
        )
        assert errors[1] == (
            f"the receiver answered HTTP 410 Gone; endpoint {gone.id} is disabled "
            "(update it to enable it)"
        )
        assert {d.job_id for d in failed} == {first, second}

        # New events make no delivery for the disabled endpoint (the other still gets them).
        queued_event(runtime, key, "three")
        assert len(runtime.webhooks.deliveries.list_deliveries(key, endpoint_id=gone.id)) == 2
        assert len(runtime.webhooks.deliveries.list_deliveries(key, endpoint_id=other.id)) == 3

        # An update enables it again: the next event is delivered.
        enabled = runtime.webhooks.update_endpoint(key, gone.id)
        assert (enabled.disabled_at, enabled.disabled_reason) == (None, None)
        job = queued_event(runtime, key, "four")
        while dispatcher.dispatch_once():
            pass
        assert [r.status for r in receiver.all()] == [410, 200]
        [delivered] = [
            d
            for d in runtime.webhooks.deliveries.list_deliveries(key, endpoint_id=gone.id)
            if d.job_id == job
        ]
        assert delivered.status == "delivered"


def test_a_replayed_delivery_to_a_disabled_endpoint_is_not_sent(
    runtime: Runtime, receiver: WebhookReceiver, dispatcher: WebhookDispatcher
) -> None:
    key = runtime.keys.create("hooks").key.id
    runtime.webhooks.create_endpoint(key, receiver.url, "gone", ["video.queued"])
    receiver.answers = [(410, {})]
    queued_event(runtime, key)
    dispatcher.dispatch_once()
    [delivery] = runtime.webhooks.deliveries.list_deliveries(key)
    assert runtime.webhooks.deliveries.replay(delivery.id)
    assert dispatcher.dispatch_once() == 1
    replayed = runtime.webhooks.deliveries.get(delivery.id)
    assert replayed is not None and replayed.status == "failed"
    assert str(replayed.last_error).startswith("endpoint disabled: the receiver answered 410")
    assert len(receiver.all()) == 1  # nothing more was sent


def test_410_on_a_jobs_own_webhook_url_fails_only_that_delivery(
    runtime: Runtime, receiver: WebhookReceiver, dispatcher: WebhookDispatcher
) -> None:
    key = runtime.keys.create("hooks").key.id
    endpoint = runtime.webhooks.create_endpoint(key, receiver.url, "kept", ["video.cancelled"])
    with WebhookReceiver() as own:
        own.answers = [(410, {})]
        spec = GenerationSpec.build("a canal", seconds=4)
        job = runtime.database.enqueue(spec, key, webhook_url=own.url)
        runtime.store.request_cancel(job.id, key)  # a terminal event: video.cancelled

        while dispatcher.dispatch_once():
            pass
        assert [r.status for r in own.all()] == [410]
    [failed] = runtime.webhooks.deliveries.list_deliveries(key, status="failed")
    assert failed.endpoint_id is None and failed.attempts == 1
    assert failed.last_error == "the receiver answered HTTP 410 Gone; a 410 is not retried"
    assert runtime.webhooks.get_endpoint(key, endpoint.id).disabled_at is None
    assert len(receiver.accepted()) == 1  # the key's endpoint got its event as usual
