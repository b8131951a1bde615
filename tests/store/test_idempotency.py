"""IdempotencyStore on its own: claims, replays, stale locks, and the fenced completion."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from reelforge.store.db import WRITE, create_db_engine, migrate
from reelforge.store.idempotency import (
    ClaimResult,
    IdempotencyKey,
    IdempotencyStore,
    StoredResponse,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def complete(store: IdempotencyStore, ident: IdempotencyKey, body: str) -> bool:
    with engine_of(store).connect().execution_options(**WRITE) as conn, conn.begin():
        return store.complete(conn, ident, StoredResponse(200, body, "job-1"))


def engine_of(store: IdempotencyStore) -> sa.Engine:
    return store._engine


def test_claim_then_replay_then_mismatch(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    ident = IdempotencyKey("owner", "key:a", "f1")
    assert store.claim(ident).result is ClaimResult.PROCEED
    assert store.claim(ident).result is ClaimResult.IN_FLIGHT
    assert complete(store, ident, '{"id": 1}')
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


def test_stale_lock_is_taken_over_and_the_loser_cannot_complete(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400, lock_seconds=0.05)
    first = IdempotencyKey("owner", "key:c", "f1")
    assert store.claim(first).result is ClaimResult.PROCEED
    time.sleep(0.1)  # the first request's process "died"; its lock expired
    assert store.claim(first).result is ClaimResult.PROCEED  # a retry takes over
    assert complete(store, first, "winner")
    assert not complete(store, first, "late loser")  # already done: the loser is fenced out
    stored = store.claim(first).stored
    assert stored is not None and stored.body == "winner"


def test_sdk_fingerprint_keys_take_over_on_a_fresh_call(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=86400)
    fresh = IdempotencyKey("owner", "sdk:f", "f", takeover=True)
    assert store.claim(fresh).result is ClaimResult.PROCEED
    assert complete(store, fresh, "first")
    retry = IdempotencyKey("owner", "sdk:f", "f")
    assert store.claim(retry).result is ClaimResult.REPLAY
    assert store.claim(fresh).result is ClaimResult.PROCEED  # a new call makes a new video


def test_purge_drops_expired_records(engine: sa.Engine) -> None:
    store = IdempotencyStore(engine, ttl_seconds=0)
    ident = IdempotencyKey("owner", "key:d", "f1")
    store.claim(ident)
    assert store.purge_expired() == 1
