"""API keys: 256-bit random bearer tokens, stored only as SHA-256, shown once.

A token reads ``rf_<id>_<secret>``: ``rf_`` makes it recognisable (secret scanners, logs),
``<id>`` (12 hex) is public and names the key's row and the owner of its jobs, ``<secret>``
carries 256 random bits. Verification looks the row up by id and compares the SHA-256 of the
whole token with ``hmac.compare_digest``, so timing says nothing about the secret. A salt or
pepper adds nothing against brute force of a 256-bit secret, so none is used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from reelforge.domain.errors import KeyNotFound
from reelforge.store.api_tables import api_keys
from reelforge.store.db import WRITE
from reelforge.store.types import utcnow

TOKEN_PREFIX = "rf_"
_TOKEN = re.compile(r"^rf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: ``token`` exists only here and is never stored."""

    key: ApiKey
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return _TOKEN.match(token) is not None


class KeyStore:
    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self.clock = clock

    def create(self, name: str) -> NewKey:
        key_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(key_id, name, self.clock(), None)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                api_keys.insert().values(
                    id=key.id, name=name, secret_hash=hash_token(token), created_at=key.created_at
                )
            )
        return NewKey(key, token)

    def verify(self, token: str) -> ApiKey | None:
        """The active key ``token`` belongs to, or None (unknown, malformed or revoked)."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        query = sa.select(api_keys).where(api_keys.c.id == match.group(1))
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or not hmac.compare_digest(row["secret_hash"], hash_token(token)):
            return None
        key = _to_key(row)
        return key if key.active else None

    def list(self) -> list[ApiKey]:
        query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        with self._engine.connect() as conn:
            return [_to_key(row) for row in conn.execute(query).mappings().all()]

    def count_active(self) -> int:
        query = sa.select(sa.func.count()).where(api_keys.c.revoked_at.is_(None))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def revoke(self, key_id: str) -> ApiKey:
        key_id = key_id.removeprefix(TOKEN_PREFIX).split("_")[0]
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
            row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings()
            found = row.first()
        if found is None:
            raise KeyNotFound(f"no API key with id {key_id!r}; `reelforge keys list` shows them")
        return _to_key(found)


def _to_key(row: sa.RowMapping) -> ApiKey:
    return ApiKey(row["id"], row["name"], row["created_at"], row["revoked_at"])
