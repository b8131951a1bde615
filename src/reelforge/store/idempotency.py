"""Idempotency records: Stripe's semantics for ``Idempotency-Key``, scoped per API key.

A request first *claims* its key (a committed ``in_flight`` row with a short lock), does its
slow work (fetching an image, checks), then *completes* the record in the same transaction that
inserts the job, storing the response to replay. A failed request *releases* the key, so a
corrected retry may use it. Outcomes of a claim:

- ``proceed``: the key is ours; go on.
- ``replay``: the first request with this key and body finished; send its stored response.
- ``in_flight``: the first request is still running (its lock holds): answer 409.
- ``mismatch``: the key was used with a different body (or route): answer 422.

A lock that outlived its request (the process died) expires and can be claimed again.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from reelforge.store.api_tables import idempotency_records as records
from reelforge.store.db import WRITE
from reelforge.store.types import utcnow

IN_FLIGHT = "in_flight"
DONE = "done"


class ClaimResult(enum.Enum):
    PROCEED = "proceed"
    REPLAY = "replay"
    IN_FLIGHT = "in_flight"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str
    job_id: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    result: ClaimResult
    stored: StoredResponse | None = None
    token: str | None = None
    """With ``PROCEED``: the claim's token, which ``complete`` and ``release`` must present."""


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """One request's key. ``takeover``: a fresh request may replace an older record with this
    key (used for the fingerprint keys that dedupe SDK retries, never for client keys)."""

    owner: str
    key: str
    fingerprint: str
    takeover: bool = False


class IdempotencyStore:
    def __init__(
        self,
        engine: sa.Engine,
        ttl_seconds: int,
        lock_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self.ttl = timedelta(seconds=ttl_seconds)
        self.lock = timedelta(seconds=lock_seconds)
        self.clock = clock

    def claim(self, ident: IdempotencyKey) -> Claim:
        now = self.clock()
        try:
            with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
                row = conn.execute(_select(ident)).mappings().first()
                verdict = _judge(row, ident, now)
                if verdict.result is not ClaimResult.PROCEED:
                    return verdict
                token = secrets.token_hex(16)
                self._write_claim(conn, ident, token, now, exists=row is not None)
                return Claim(ClaimResult.PROCEED, token=token)
        except sa.exc.IntegrityError:
            # PostgreSQL: another request inserted the same key between our read and insert.
            return Claim(ClaimResult.IN_FLIGHT)

    def _write_claim(
        self, conn: sa.Connection, ident: IdempotencyKey, token: str, now: datetime, *, exists: bool
    ) -> None:
        values = {
            "fingerprint": ident.fingerprint,
            "state": IN_FLIGHT,
            "claim_token": token,
            "job_id": None,
            "status_code": None,
            "response_body": None,
            "created_at": now,
            "locked_until": now + self.lock,
            "expires_at": now + self.ttl,
        }
        if exists:
            conn.execute(records.update().where(*_match(ident)).values(**values))
        else:
            conn.execute(records.insert().values(owner=ident.owner, key=ident.key, **values))

    def complete(
        self, conn: sa.Connection, ident: IdempotencyKey, token: str, response: StoredResponse
    ) -> bool:
        """Store the response inside the caller's job transaction; False if we lost the key
        (our lock expired and another request claimed it: that request owns it now)."""
        result = conn.execute(
            records.update()
            .where(*_match(ident), records.c.state == IN_FLIGHT)
            .where(records.c.claim_token == token)
            .values(
                state=DONE,
                job_id=response.job_id,
                status_code=response.status_code,
                response_body=response.body,
                locked_until=None,
            )
        )
        return result.rowcount == 1

    def release(self, ident: IdempotencyKey, token: str) -> None:
        """Forget our claim after our request failed before creating anything; a claim another
        request took over meanwhile stays."""
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                records.delete().where(
                    *_match(ident), records.c.state == IN_FLIGHT, records.c.claim_token == token
                )
            )

    def purge_expired(self, now: datetime | None = None) -> int:
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            result = conn.execute(
                records.delete().where(records.c.expires_at <= (now or self.clock()))
            )
        return result.rowcount


def _match(ident: IdempotencyKey) -> tuple[sa.ColumnElement[bool], ...]:
    return (records.c.owner == ident.owner, records.c.key == ident.key)


def _select(ident: IdempotencyKey) -> sa.Select[tuple[object, ...]]:
    query = sa.select(records).where(*_match(ident))
    return query


def _judge(row: sa.RowMapping | None, ident: IdempotencyKey, now: datetime) -> Claim:
    if row is None or row["expires_at"] <= now or ident.takeover:
        return Claim(ClaimResult.PROCEED)
    if row["fingerprint"] != ident.fingerprint:
        return Claim(ClaimResult.MISMATCH)
    if row["state"] == DONE:
        stored = StoredResponse(row["status_code"], row["response_body"], row["job_id"])
        return Claim(ClaimResult.REPLAY, stored)
    if row["locked_until"] is not None and row["locked_until"] > now:
        return Claim(ClaimResult.IN_FLIGHT)
    return Claim(ClaimResult.PROCEED)
