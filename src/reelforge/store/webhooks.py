"""WebhookStore: a key's webhook endpoints and per-request signing secret.

Endpoints belong to the API key (``owner``) that registered them: every read and write takes
the owner, so another key's endpoint is simply not found. An endpoint's signing secret is made
here and returned only by ``create`` and ``rotate_secret``; a rotation may keep the previous
secret valid for 24 hours, during which deliveries are signed with both. Deleting an endpoint
fails its pending deliveries (``last_error`` "endpoint deleted"): they stay listed, and nothing
is sent to a URL its owner removed. An endpoint whose receiver answered 410 Gone is disabled
(``disabled_at``, ``disabled_reason``; see ``DeliveryStore.record_attempt``); any update of it
enables it again. Deliveries themselves are in ``webhook_deliveries``
(``WebhookStore.deliveries``).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from reelforge.domain.errors import WebhookNotFound
from reelforge.store.db import WRITE
from reelforge.store.event_tables import webhook_endpoints, webhook_secrets
from reelforge.store.types import utcnow
from reelforge.store.webhook_deliveries import DeliveryStore, fail_pending

Clock = Callable[[], datetime]
SecretFactory = Callable[[], str]
KEEP_OLD_SECRET = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    owner: str
    name: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None = None
    """When the receiver answered 410 Gone; no deliveries are made until an update."""
    disabled_reason: str | None = None


def new_endpoint_id() -> str:
    return "we_" + secrets.token_hex(16)


def new_signing_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes: the Standard Webhooks (and OpenAI) form."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookStore:
    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock = utcnow,
        *,
        new_secret: SecretFactory = new_signing_secret,
    ) -> None:
        self._engine = engine
        self._new_secret = new_secret
        self.clock = clock
        self.deliveries = DeliveryStore(engine, clock)

    def _write(self) -> sa.Connection:
        return self._engine.connect().execution_options(**WRITE)

    # -- endpoints -----------------------------------------------------------------------------

    def create_endpoint(
        self, owner: str, url: str, name: str, event_types: Sequence[str]
    ) -> WebhookEndpoint:
        now = self.clock()
        values = {
            "id": new_endpoint_id(),
            "owner": owner,
            "name": name,
            "url": url,
            "event_types": json.dumps(list(event_types)),
            "secret": self._new_secret(),
            "previous_secret": None,
            "previous_secret_expires_at": None,
            "created_at": now,
            "updated_at": now,
            "disabled_at": None,
            "disabled_reason": None,
        }
        with self._write() as conn, conn.begin():
            conn.execute(webhook_endpoints.insert().values(**values))
        return _to_endpoint(values)

    def get_endpoint(self, owner: str | None, endpoint_id: str) -> WebhookEndpoint:
        """``owner`` None: any key's endpoint (the command line)."""
        with self._engine.connect() as conn:
            return self._get(conn, owner, endpoint_id)

    def list_endpoints(
        self, owner: str | None, *, limit: int = 20, after: str | None = None
    ) -> list[WebhookEndpoint]:
        """Newest first; ``after`` is the last id of the previous page."""
        query = sa.select(webhook_endpoints)
        if owner is not None:
            query = query.where(webhook_endpoints.c.owner == owner)
        key = sa.tuple_(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        with self._engine.connect() as conn:
            if after is not None:
                anchor = self._get(conn, owner, after)
                created = sa.literal(anchor.created_at, webhook_endpoints.c.created_at.type)
                query = query.where(key < sa.tuple_(created, sa.literal(anchor.id)))
            query = query.order_by(
                webhook_endpoints.c.created_at.desc(), webhook_endpoints.c.id.desc()
            ).limit(limit)
            return [_to_endpoint(row) for row in conn.execute(query).mappings().all()]

    def update_endpoint(
        self,
        owner: str | None,
        endpoint_id: str,
        *,
        url: str | None = None,
        name: str | None = None,
        event_types: Sequence[str] | None = None,
    ) -> WebhookEndpoint:
        """Change what is given and enable a disabled endpoint (the owner has looked at it);
        ``updated_at`` moves only when something changed. ``owner`` None: any key's."""
        with self._write() as conn, conn.begin():
            current = self._get(conn, owner, endpoint_id)
            changes: dict[str, object] = {}
            if current.disabled_at is not None:
                changes.update(disabled_at=None, disabled_reason=None)
            if url is not None and url != current.url:
                changes["url"] = url
            if name is not None and name != current.name:
                changes["name"] = name
            if event_types is not None and tuple(event_types) != current.event_types:
                changes["event_types"] = json.dumps(list(event_types))
            if changes:
                changes["updated_at"] = self.clock()
                conn.execute(
                    webhook_endpoints.update()
                    .where(webhook_endpoints.c.id == endpoint_id)
                    .values(**changes)
                )
            return self._get(conn, owner, endpoint_id)

    def rotate_secret(self, owner: str, endpoint_id: str, *, keep_old: bool) -> WebhookEndpoint:
        """A new secret; with ``keep_old`` the current one also signs for the next 24 hours."""
        now = self.clock()
        with self._write() as conn, conn.begin():
            current = self._get(conn, owner, endpoint_id)
            conn.execute(
                webhook_endpoints.update()
                .where(webhook_endpoints.c.id == endpoint_id)
                .values(
                    secret=self._new_secret(),
                    previous_secret=current.secret if keep_old else None,
                    previous_secret_expires_at=now + KEEP_OLD_SECRET if keep_old else None,
                    updated_at=now,
                )
            )
            return self._get(conn, owner, endpoint_id)

    def delete_endpoint(self, owner: str | None, endpoint_id: str) -> WebhookEndpoint:
        """Remove the endpoint and fail its pending deliveries, in one transaction."""
        with self._write() as conn, conn.begin():
            endpoint = self._get(conn, owner, endpoint_id)
            fail_pending(conn, endpoint_id, "endpoint deleted")
            conn.execute(webhook_endpoints.delete().where(webhook_endpoints.c.id == endpoint_id))
        return endpoint

    def _get(self, conn: sa.Connection, owner: str | None, endpoint_id: str) -> WebhookEndpoint:
        query = sa.select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        if owner is not None:
            query = query.where(webhook_endpoints.c.owner == owner)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise WebhookNotFound(
                f"webhook endpoint {endpoint_id!r} does not exist (or belongs to another API "
                "key); list yours with GET /v1/webhook_endpoints"
            )
        return _to_endpoint(row)

    # -- the per-request secret ----------------------------------------------------------------

    def owner_secret(self, owner: str) -> str:
        """The secret that signs deliveries to ``owner``'s creates' own ``webhook_url``;
        made on first use (two first uses at once agree on one)."""
        query = sa.select(webhook_secrets.c.secret).where(webhook_secrets.c.owner == owner)
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is not None:
            return str(found)
        try:
            with self._write() as conn, conn.begin():
                conn.execute(
                    webhook_secrets.insert().values(
                        owner=owner, secret=self._new_secret(), created_at=self.clock()
                    )
                )
        except sa.exc.IntegrityError:
            pass  # another request made it first: use theirs
        with self._engine.connect() as conn:
            return str(conn.execute(query).scalar_one())


def _to_endpoint(row: sa.RowMapping | Mapping[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=str(row["id"]),
        owner=str(row["owner"]),
        name=str(row["name"]),
        url=str(row["url"]),
        event_types=tuple(json.loads(str(row["event_types"]))),
        secret=str(row["secret"]),
        previous_secret=row["previous_secret"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        disabled_at=row["disabled_at"],
        disabled_reason=row["disabled_reason"],
    )
