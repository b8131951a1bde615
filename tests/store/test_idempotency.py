"""IdempotencyStore on its own: claims, replays, stale locks, and the fenced completion."""

from __future__ import annotations

import sqlalchemy as sa

from reelforge.store.db import WRITE
from reelforge.store.idempotency import (
    Claim,
    ClaimResult,
    IdempotencyKey,
    IdempotencyStore,
    StoredResponse,
)
from tests.support.clock import FakeClock


def complete(
    engine: sa.Engine, store: IdempotencyStore, ident: IdempotencyKey, claim: Claim, body: str
) -> bool:
    """Complete ``claim`` (a PROCEED claim of ``ident``) with ``body``, as enqueue does."""
    assert claim.token is not None
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        return store.complete(conn, ident, claim.token, StoredResponse(200, body, "job-1"))


def test_claim_then_replay_then_mismatch(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    ident = IdempotencyKey("owner", "key:a", "f1")
    first = store.claim(ident)
    assert first.result is ClaimResult.PROCEED and first.token is not None
    assert store.claim(ident).result is ClaimResult.IN_FLIGHT
    assert complete(engine, store, ident, first, '{"id": 1}')
    replay = store.claim(ident)
    assert replay.result is ClaimResult.REPLAY and replay.stored is not None
    assert replay.stored.body == '{"id": 1}'
    other_body = IdempotencyKey("owner", "key:a", "f2")
    assert store.claim(other_body).result is ClaimResult.MISMATCH
    other_owner = IdempotencyKey("someone else", "key:a", "f2")
    assert store.claim(other_owner).result is ClaimResult.PROCEED


def test_release_frees_the_key(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    ident = IdempotencyKey("owner", "key:b", "f1")
    token = store.claim(ident).token
    assert token is not None
    store.release(ident, token)
    assert store.claim(IdempotencyKey("owner", "key:b", "f2")).result is ClaimResult.PROCEED


def test_a_late_release_leaves_the_request_that_took_over_alone(
    engine: sa.Engine, clock: FakeClock
) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400, lock_seconds=60, clock=clock)
    ident = IdempotencyKey("owner", "key:r", "f1")
    stale = store.claim(ident)
    clock.advance(61)  # the first request stalled past its lock; a retry takes the key over
    current = store.claim(ident)
    assert current.result is ClaimResult.PROCEED and current.token != stale.token
    assert stale.token is not None
    store.release(ident, stale.token)  # the stalled request fails and lets go: of nothing
    assert store.claim(ident).result is ClaimResult.IN_FLIGHT
    assert not complete(engine, store, ident, stale, "stale")
    assert complete(engine, store, ident, current, "current")
    replay = store.claim(ident)
    assert replay.stored is not None and replay.stored.body == "current"


def test_lock_holds_until_it_expires(engine: sa.Engine, clock: FakeClock) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400, lock_seconds=60, clock=clock)
    ident = IdempotencyKey("owner", "key:l", "f1")
    assert store.claim(ident).result is ClaimResult.PROCEED
    clock.advance(59)
    assert store.claim(ident).result is ClaimResult.IN_FLIGHT
    clock.advance(2)
    assert store.claim(ident).result is ClaimResult.PROCEED


def test_stale_lock_is_taken_over_and_the_loser_cannot_complete(
    engine: sa.Engine, clock: FakeClock
) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400, lock_seconds=60, clock=clock)
    first = IdempotencyKey("owner", "key:c", "f1")
    loser = store.claim(first)
    assert loser.result is ClaimResult.PROCEED
    clock.advance(61)  # the first request's process "died"; its lock expired
    winner = store.claim(first)
    assert winner.result is ClaimResult.PROCEED  # a retry takes over
    assert complete(engine, store, first, winner, "winner")
    assert not complete(engine, store, first, loser, "late loser")  # not its claim any more: fenced
    stored = store.claim(first).stored
    assert stored is not None and stored.body == "winner"


def test_sdk_fingerprint_keys_take_over_on_a_fresh_call(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    fresh = IdempotencyKey("owner", "sdk:f", "f", takeover=True)
    first = store.claim(fresh)
    assert first.result is ClaimResult.PROCEED
    assert complete(engine, store, fresh, first, "first")
    retry = IdempotencyKey("owner", "sdk:f", "f")
    assert store.claim(retry).result is ClaimResult.REPLAY
    assert store.claim(fresh).result is ClaimResult.PROCEED  # a new call makes a new video


def test_purge_drops_only_expired_records(engine: sa.Engine, clock: FakeClock) -> None:
    store = IdempotencyStore(engine, ttl_seconds=3600, clock=clock)
    old, new = IdempotencyKey("owner", "key:old", "f1"), IdempotencyKey("owner", "key:new", "f1")
    store.claim(old)
    clock.advance(1800)
    assert complete(engine, store, new, store.claim(new), "kept")
    assert store.purge_expired() == 0
    clock.advance(1800)
    assert store.purge_expired() == 1
    assert store.claim(new).result is ClaimResult.REPLAY


def test_an_expired_record_is_claimed_afresh(engine: sa.Engine, clock: FakeClock) -> None:
    store = IdempotencyStore(engine, ttl_seconds=3600, clock=clock)
    ident = IdempotencyKey("owner", "key:e", "f1")
    assert complete(engine, store, ident, store.claim(ident), "old")
    clock.advance(3600)
    assert store.claim(IdempotencyKey("owner", "key:e", "f2")).result is ClaimResult.PROCEED
