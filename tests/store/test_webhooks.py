"""WebhookStore and its deliveries on both databases: endpoints scoped to their key, secrets,
claiming with a lease (exclusive, re-claimable once expired, fenced), attempts, replay."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from reelforge.domain.errors import WebhookNotFound
from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.webhook_deliveries import ClaimedDelivery
from tests.support.clock import FakeClock

OWNER = "key_1"
URL = "https://hooks.example.com/in"


def enqueue_with_endpoint(database: Database, events: list[str] | None = None) -> str:
    endpoint = database.webhooks.create_endpoint(OWNER, URL, "ep", events or ["video.queued"])
    database.enqueue(GenerationSpec.build("a kite", seconds=4, seed=1), OWNER)
    return endpoint.id


def claim_one(database: Database, lease_seconds: float = 30) -> ClaimedDelivery:
    [claim] = database.webhooks.deliveries.claim_due(10, lease_seconds)
    return claim


def record(database: Database, claim: ClaimedDelivery, **outcome: object) -> bool:
    values: dict[str, object] = {
        "started_at": database.webhooks.clock(),
        "latency_ms": 12.5,
        "status_code": 503,
        "error": "the receiver answered HTTP 503",
        "delivered": False,
        "next_attempt_at": database.webhooks.clock() + timedelta(seconds=5),
    }
    values.update(outcome)
    return database.webhooks.deliveries.record_attempt(claim, **values)  # type: ignore[arg-type]


# -- endpoints ---------------------------------------------------------------------------------


def test_endpoints_belong_to_their_key(database: Database, clock: FakeClock) -> None:
    first = database.webhooks.create_endpoint(OWNER, URL, "one", ["video.completed"])
    clock.advance(1)
    second = database.webhooks.create_endpoint(OWNER, URL + "2", "two", ["video.failed"])
    assert first.id.startswith("we_") and first.secret.startswith("whsec_")
    assert first.secret != second.secret
    assert [e.id for e in database.webhooks.list_endpoints(OWNER)] == [second.id, first.id]
    assert [e.id for e in database.webhooks.list_endpoints(OWNER, after=second.id)] == [first.id]
    assert database.webhooks.list_endpoints("key_2") == []
    with pytest.raises(WebhookNotFound):
        database.webhooks.get_endpoint("key_2", first.id)
    with pytest.raises(WebhookNotFound):
        database.webhooks.delete_endpoint("key_2", first.id)
    assert database.webhooks.get_endpoint(None, first.id).name == "one"  # the command line


def test_update_changes_only_what_is_given(database: Database, clock: FakeClock) -> None:
    endpoint = database.webhooks.create_endpoint(OWNER, URL, "one", ["video.completed"])
    clock.advance(5)
    same = database.webhooks.update_endpoint(OWNER, endpoint.id, name="one")
    assert same.updated_at == endpoint.updated_at  # nothing changed
    changed = database.webhooks.update_endpoint(OWNER, endpoint.id, event_types=["video.failed"])
    assert changed.event_types == ("video.failed",) and changed.name == "one"
    assert changed.url == URL and changed.updated_at > endpoint.updated_at


def test_rotation_keeps_the_old_secret_signing_for_24_hours(
    database: Database, clock: FakeClock
) -> None:
    endpoint_id = enqueue_with_endpoint(database)
    old = database.webhooks.get_endpoint(OWNER, endpoint_id).secret
    new = database.webhooks.rotate_secret(OWNER, endpoint_id, keep_old=True).secret
    assert claim_one(database).signing_secrets == (new, old)
    clock.advance(24 * 3600 + 1)
    claim = claim_one(database)  # the first lease (30 s) has long expired
    assert claim.signing_secrets == (new,)
    newest = database.webhooks.rotate_secret(OWNER, endpoint_id, keep_old=False).secret
    clock.advance(60)
    assert claim_one(database).signing_secrets == (newest,)


def test_the_keys_own_secret_is_made_once(database: Database) -> None:
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(database.webhooks.owner_secret(OWNER)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0].startswith("whsec_")
    assert database.webhooks.owner_secret("key_2") != results[0]


def test_deleting_an_endpoint_fails_its_pending_deliveries(database: Database) -> None:
    endpoint_id = enqueue_with_endpoint(database)
    database.webhooks.delete_endpoint(OWNER, endpoint_id)
    [delivery] = database.webhooks.deliveries.list_deliveries(OWNER)
    assert (delivery.status, delivery.last_error) == ("failed", "endpoint deleted")
    assert database.webhooks.deliveries.claim_due(10, 30) == []


# -- claiming and attempts ---------------------------------------------------------------------


def test_a_claim_is_exclusive_until_its_lease_expires(database: Database, clock: FakeClock) -> None:
    enqueue_with_endpoint(database)
    first = claim_one(database)
    assert first.attempt == 1 and first.url == URL and '"video.queued"' in first.payload
    assert database.webhooks.deliveries.claim_due(10, 30) == []
    clock.advance(31)
    again = claim_one(database)  # the first dispatcher died: its lease expired
    assert again.id == first.id and again.event_id == first.event_id
    assert again.lease_token != first.lease_token
    # The first dispatcher's late outcome is fenced out; the new owner's is kept.
    assert record(database, first, status_code=200, error=None, delivered=True) is False
    assert record(database, again) is True
    delivery = database.webhooks.deliveries.get(first.id)
    assert delivery is not None and delivery.status == "pending" and delivery.attempts == 1


def test_attempts_are_recorded_until_delivered(database: Database, clock: FakeClock) -> None:
    enqueue_with_endpoint(database)
    claim = claim_one(database)
    assert record(database, claim)
    assert database.webhooks.deliveries.claim_due(10, 30) == []  # not due for 5 s
    clock.advance(5)
    second = claim_one(database)
    assert second.attempt == 2
    assert record(database, second, status_code=204, error=None, delivered=True)
    [delivery] = database.webhooks.deliveries.list_deliveries(OWNER, status="delivered")
    assert delivery.attempts == 2 and delivery.delivered_at == clock()
    assert delivery.event_type == "video.queued" and delivery.last_status_code == 204
    attempts = database.webhooks.deliveries.attempts(delivery.id)
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 503), (2, 204)]
    assert attempts[0].error == "the receiver answered HTTP 503" and attempts[1].error is None


def test_a_failed_delivery_can_be_replayed_once_more(database: Database) -> None:
    enqueue_with_endpoint(database)
    claim = claim_one(database)
    assert record(database, claim, next_attempt_at=None)  # the retry window is over
    [failed] = database.webhooks.deliveries.list_deliveries(OWNER, status="failed")
    assert database.webhooks.deliveries.replay(failed.id, owner="key_2") is False
    assert database.webhooks.deliveries.replay(failed.id) is True
    assert database.webhooks.deliveries.replay(failed.id) is False  # pending now, not failed
    replayed = claim_one(database)
    assert (replayed.id, replayed.event_id, replayed.attempt) == (failed.id, failed.event_id, 2)


def test_listing_filters_by_owner_status_and_endpoint(database: Database) -> None:
    endpoint_id = enqueue_with_endpoint(database)
    other = database.webhooks.create_endpoint("key_2", URL, "x", ["video.queued"])
    database.enqueue(GenerationSpec.build("a boat", seconds=4), "key_2")
    deliveries = database.webhooks.deliveries
    assert len(deliveries.list_deliveries()) == 2
    assert [d.endpoint_id for d in deliveries.list_deliveries(OWNER)] == [endpoint_id]
    assert [d.owner for d in deliveries.list_deliveries(endpoint_id=other.id)] == ["key_2"]
    assert deliveries.list_deliveries(status="failed") == []
    assert deliveries.count_pending() == 2


def test_many_claimers_never_share_a_delivery(database: Database) -> None:
    database.webhooks.create_endpoint(OWNER, URL, "ep", ["video.queued"])
    for n in range(20):
        database.enqueue(GenerationSpec.build(f"clip {n}", seconds=4), OWNER)
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all() -> None:
        while batch := database.webhooks.deliveries.claim_due(3, 30):
            with lock:
                claimed.extend(c.id for c in batch)

    threads = [threading.Thread(target=claim_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 20 and len(set(claimed)) == 20
