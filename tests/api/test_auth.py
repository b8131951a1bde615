"""KeyVerifier and the bearer checks directly: a verified key is served from the cache for the
TTL (no store read), a revocation holds once the TTL has passed, and only well-formed tokens
of active keys are accepted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import Request

from reelforge.api.auth import AUTH_CACHE_SECONDS, KeyVerifier, authenticate, checked_token
from reelforge.api.errors import ApiError
from reelforge.store.db import create_db_engine, migrate
from reelforge.store.keys import ApiKey, KeyStore
from tests.support.clock import FakeMonotonic

MALFORMED = [
    "",
    "sk-not-ours",
    "rf_0123456789ab",
    "rf_0123456789AB_" + "A" * 43,  # id is lower-case hex
    "rf_0123456789ab_" + "A" * 42,  # secret one short
    "rf_0123456789ab_" + "A" * 44,
    "rf_0123456789ab_" + "A" * 42 + "!",
]


class CountingKeys(KeyStore):
    """A real KeyStore that counts its lookups."""

    lookups: int = 0

    def verify(self, token: str) -> ApiKey | None:
        self.lookups += 1
        return super().verify(token)


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[CountingKeys]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(engine)
    yield CountingKeys(engine)
    engine.dispose()


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


def test_defaults_are_the_cache_seconds_on_the_monotonic_clock(keys: CountingKeys) -> None:
    verifier = KeyVerifier(keys)
    assert verifier.ttl == AUTH_CACHE_SECONDS and verifier.clock is time.monotonic


def test_cache_hit_skips_the_store(keys: CountingKeys, clock: FakeMonotonic) -> None:
    new = keys.create("cached")
    verifier = KeyVerifier(keys, ttl=1.0, clock=clock)
    assert verifier.cached(new.token) is None  # nothing cached before the first verify
    assert verifier.verify(new.token) == new.key
    assert keys.lookups == 1
    clock.advance(0.9)
    assert verifier.verify(new.token) == new.key
    assert verifier.cached(new.token) == new.key
    assert keys.lookups == 1


def test_cache_expires_after_the_ttl(keys: CountingKeys, clock: FakeMonotonic) -> None:
    new = keys.create("expiring")
    verifier = KeyVerifier(keys, ttl=1.0, clock=clock)
    verifier.verify(new.token)
    clock.advance(1.0)
    assert verifier.cached(new.token) is None
    assert verifier.verify(new.token) == new.key
    assert keys.lookups == 2


def test_revocation_holds_once_the_ttl_has_passed(keys: CountingKeys, clock: FakeMonotonic) -> None:
    new = keys.create("revoked")
    verifier = KeyVerifier(keys, ttl=1.0, clock=clock)
    assert verifier.verify(new.token) == new.key
    keys.revoke(new.key.id)
    clock.advance(0.5)
    assert verifier.verify(new.token) == new.key  # still trusted from the cache
    clock.advance(0.6)
    assert verifier.verify(new.token) is None
    assert verifier.cached(new.token) is None
    assert verifier.verify(new.token) is None  # a refusal is not cached as a key
    assert keys.lookups == 3


def test_unknown_token_is_not_cached(keys: CountingKeys, clock: FakeMonotonic) -> None:
    verifier = KeyVerifier(keys, clock=clock)
    unknown = "rf_0123456789ab_" + "A" * 43
    assert verifier.verify(unknown) is None
    assert verifier.verify(unknown) is None
    assert keys.lookups == 2


def test_other_keys_secret_is_refused(keys: CountingKeys, clock: FakeMonotonic) -> None:
    mine, theirs = keys.create("mine"), keys.create("theirs")
    forged = mine.token[: len("rf_") + 12] + theirs.token[len("rf_") + 12 :]
    assert KeyVerifier(keys, clock=clock).verify(forged) is None


@pytest.mark.parametrize("token", MALFORMED)
def test_malformed_tokens_are_refused(keys: CountingKeys, clock: FakeMonotonic, token: str) -> None:
    assert KeyVerifier(keys, clock=clock).verify(token) is None


@pytest.mark.parametrize("token", MALFORMED)
def test_malformed_bearer_is_401_before_any_lookup(token: str) -> None:
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    with pytest.raises(ApiError) as raised:
        checked_token(credentials)
    assert raised.value.status == 401 and raised.value.code == "invalid_api_key"
    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}
    assert "Invalid API Key format" in raised.value.message


def test_missing_bearer_is_401() -> None:
    with pytest.raises(ApiError) as raised:
        checked_token(None)
    assert raised.value.status == 401 and "missing API key" in raised.value.message


def test_well_formed_bearer_is_returned_stripped() -> None:
    token = "rf_0123456789ab_" + "A" * 43
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=f" {token} ")
    assert checked_token(credentials) == token


def test_authenticate_names_the_owner_and_refuses_revoked_keys(
    keys: CountingKeys, clock: FakeMonotonic
) -> None:
    new = keys.create("request")
    verifier = KeyVerifier(keys, clock=clock)
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=new.token)
    request = Request({"type": "http", "headers": []})
    assert asyncio.run(authenticate(verifier, request, credentials)) == new.key
    assert request.state.owner == new.key.id
    keys.revoke(new.key.id)
    clock.advance(AUTH_CACHE_SECONDS)
    with pytest.raises(ApiError) as raised:
        asyncio.run(authenticate(verifier, Request({"type": "http", "headers": []}), credentials))
    assert raised.value.status == 401 and "invalid or revoked" in raised.value.message
