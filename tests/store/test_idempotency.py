"""IdempotencyStore on its own: claims, replays, stale locks, and the fenced completion."""

from __future__ import annotations

import sqlalchemy as sa

from reelforge.store.db import WRITE
from reelforge.store.idempotency import (
    ClaimResult,
    IdempotencyKey,
    IdempotencyStore,
    StoredResponse,
)
from tests.support.clock import FakeClock


def complete(engine: sa.Engine, store: IdempotencyStore, ident: IdempotencyKey, body: str) -> bool:
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        return store.complete(conn, ident, StoredResponse(200, body, "job-1"))


def test_claim_then_replay_then_mismatch(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    ident = IdempotencyKey("owner", "key:a", "f1")
    assert store.claim(ident).result is ClaimResult.PROCEED
    assert store.claim(ident).result is ClaimResult.IN_FLIGHT
    assert complete(engine, store, ident, '{"id": 1}')
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
    store.claim(ident)
    store.release(ident)
    assert store.claim(IdempotencyKey("owner", "key:b", "f2")).result is ClaimResult.PROCEED


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
    assert store.claim(first).result is ClaimResult.PROCEED
    clock.advance(61)  # the first request's process "died"; its lock expired
    assert store.claim(first).result is ClaimResult.PROCEED  # a retry takes over
    assert complete(engine, store, first, "winner")
    assert not complete(engine, store, first, "late loser")  # already done: fenced out
    stored = store.claim(first).stored
    assert stored is not None and stored.body == "winner"


def test_sdk_fingerprint_keys_take_over_on_a_fresh_call(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    fresh = IdempotencyKey("owner", "sdk:f", "f", takeover=True)
    assert store.claim(fresh).result is ClaimResult.PROCEED
    assert complete(engine, store, fresh, "first")
    retry = IdempotencyKey("owner", "sdk:f", "f")
    assert store.claim(retry).result is ClaimResult.REPLAY
    assert store.claim(fresh).result is ClaimResult.PROCEED  # a new call makes a new video


def test_purge_drops_only_expired_records(engine: sa.Engine, clock: FakeClock) -> None:
    store = IdempotencyStore(engine, ttl_seconds=3600, clock=clock)
    old, new = IdempotencyKey("owner", "key:old", "f1"), IdempotencyKey("owner", "key:new", "f1")
    store.claim(old)
    clock.advance(1800)
    store.claim(new)
    assert complete(engine, store, new, "kept")
    assert store.purge_expired() == 0
    clock.advance(1800)
    assert store.purge_expired() == 1
    assert store.claim(new).result is ClaimResult.REPLAY


def test_an_expired_record_is_claimed_afresh(engine: sa.Engine, clock: FakeClock) -> None:
    store = IdempotencyStore(engine, ttl_seconds=3600, clock=clock)
    ident = IdempotencyKey("owner", "key:e", "f1")
    store.claim(ident)
    assert complete(engine, store, ident, "old")
    clock.advance(3600)
    assert store.claim(IdempotencyKey("owner", "key:e", "f2")).result is ClaimResult.PROCEED
