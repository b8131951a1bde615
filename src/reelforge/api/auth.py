"""Bearer API keys: every endpoint but health checks needs one; owner = the key's id."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelforge.api.errors import ApiError
from reelforge.domain.quotas import describe_reset
from reelforge.store.keys import ApiKey, KeyStore, hash_token, looks_like_token

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer rf_...`; create keys with `reelforge keys create`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


AUTH_CACHE_SECONDS = 1.0
"""A verified key is trusted this long without another database read, so a revocation made
by `reelforge keys revoke` (any process) takes effect within this time on every replica."""


class KeyVerifier:
    """``KeyStore.verify`` with a short positive cache: most requests skip the key lookup.

    ``clock``: seconds on a monotonic scale (tests pass a fake one to expire the cache)."""

    def __init__(
        self,
        keys: KeyStore,
        ttl: float = AUTH_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = keys
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> ApiKey | None:
        """The key if it was verified less than ``ttl`` ago; never touches the database."""
        with self._lock:
            hit = self._cache.get(hash_token(token))
        return hit[1] if hit is not None and hit[0] > self.clock() else None

    def verify(self, token: str) -> ApiKey | None:
        key = self.cached(token)
        if key is not None:
            return key
        digest, now = hash_token(token), self.clock()
        key = self.keys.verify(token)
        with self._lock:
            if len(self._cache) > 10_000:  # bounded: expired entries are dropped wholesale
                self._cache.clear()
            if key is None:
                self._cache.pop(digest, None)
            else:
                self._cache[digest] = (now + self.ttl, key)
        return key


async def authenticate(
    keys: KeyVerifier, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> ApiKey:
    """Runs on the event loop: a cached key costs no thread hop; a miss reads the database in
    the thread pool."""
    token = checked_token(credentials)
    key = keys.cached(token) or await run_in_threadpool(keys.verify, token)
    if key is None:
        raise _unauthorized(
            "invalid or revoked API key; `reelforge keys list` shows the active keys",
            title="Invalid API Key",
        )
    if key.expired(keys.keys.clock()):
        assert key.expires_at is not None
        raise _unauthorized(
            f"this API key expired at {describe_reset(key.expires_at)}; ask an operator for a "
            "new key, or to extend it with `reelforge keys update KEY --expires ...`",
            title="API Key Expired",
        )
    request.state.owner = key.id
    return key


def checked_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise _unauthorized(
            "missing API key; send the header `Authorization: Bearer rf_...` "
            "(create a key with `reelforge keys create`)",
            title="Missing API Key",
        )
    token = credentials.credentials.strip()
    if not looks_like_token(token):
        raise _unauthorized(
            "Invalid API Key format: ReelForge keys look like rf_<12 hex>_<43 characters>; "
            "check that the whole key was copied",
            title="Invalid API Key format",
        )
    return token


def _unauthorized(message: str, *, title: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key", title=title, headers=_CHALLENGE)
