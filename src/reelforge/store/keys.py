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
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from reelforge.domain.errors import KeyNotFound
from reelforge.domain.quotas import LIMIT_NAMES, KeyLimits
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
    limits: KeyLimits = field(default_factory=KeyLimits)
    """The key's own limits (``None``: the server default; ``UNLIMITED``: none)."""
    allowed_models: tuple[str, ...] | None = None
    """The models the key may use; ``None``: every model."""
    expires_at: datetime | None = None
    weight: int = 1
    """Fair-share weight in the queue."""
    admin: bool = False
    """May read the operator endpoints (``/v1/admin/...``)."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


KEY_SETTINGS = (*LIMIT_NAMES, "allowed_models", "expires_at", "weight")
"""What ``KeyStore.create`` and ``KeyStore.update`` may set (already validated by the caller)."""


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

    def create(
        self, name: str, settings: Mapping[str, Any] | None = None, *, admin: bool = False
    ) -> NewKey:
        """A new key with ``settings`` (limits, ``allowed_models``, ``expires_at``, ``weight``);
        ``admin``: it may also read the operator endpoints."""
        key_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        values = {
            "id": key_id,
            "name": name,
            "secret_hash": hash_token(token),
            "created_at": self.clock(),
            "weight": 1,
            "admin": admin,
            **_columns(settings or {}),
        }
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(api_keys.insert().values(**values))
        return NewKey(_to_key(values), token)

    def update(self, key_id: str, settings: Mapping[str, Any]) -> ApiKey:
        """Change a key's ``settings`` (a value of None restores the server default)."""
        key_id = key_id.removeprefix(TOKEN_PREFIX).split("_")[0]
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if settings:
                conn.execute(
                    api_keys.update().where(api_keys.c.id == key_id).values(**_columns(settings))
                )
            found = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings()
            row = found.first()
            if row is None:
                raise _not_found(key_id)
        return _to_key(row)

    def get(self, key_id: str) -> ApiKey:
        key_id = key_id.removeprefix(TOKEN_PREFIX).split("_")[0]
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings()
            found = row.first()
        if found is None:
            raise _not_found(key_id)
        return _to_key(found)

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
            raise _not_found(key_id)
        return _to_key(found)


def _not_found(key_id: str) -> KeyNotFound:
    return KeyNotFound(f"no API key with id {key_id!r}; `reelforge keys list` shows them")


def _columns(settings: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - set(KEY_SETTINGS)
    if unknown:
        raise ValueError(f"not a key setting: {', '.join(sorted(unknown))}")
    values = dict(settings)
    if "allowed_models" in values:
        models = values["allowed_models"]
        values["allowed_models"] = None if models is None else json.dumps(list(models))
    if "weight" in values and values["weight"] is None:
        values["weight"] = 1
    return values


def _to_key(row: Mapping[str, Any] | sa.RowMapping) -> ApiKey:
    models = row.get("allowed_models")
    return ApiKey(
        row["id"],
        row["name"],
        row["created_at"],
        row.get("revoked_at"),
        limits=KeyLimits(**{name: row.get(name) for name in LIMIT_NAMES}),
        allowed_models=None if models is None else tuple(json.loads(models)),
        expires_at=row.get("expires_at"),
        weight=int(row.get("weight") or 1),
        admin=bool(row.get("admin") or False),
    )
