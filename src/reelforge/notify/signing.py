"""Webhook secrets and signatures, in the Standard Webhooks format that OpenAI uses.

A secret reads ``whsec_<base64 of 32 random bytes>`` (made by ``store.webhooks``). A delivery
carries ``webhook-id`` (the event id: the same on every retry and for every endpoint, so
receivers can de-duplicate),
``webhook-timestamp`` (Unix seconds when this attempt was signed) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per active secret, space-separated, so
a receiver still holding the previous secret after a rotation keeps verifying. The official
``openai`` SDK's ``client.webhooks.unwrap`` and the ``standardwebhooks`` library verify them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX: Final = "whsec_"
USER_AGENT: Final = "ReelForge-webhooks/1"


def secret_hint(secret: str) -> str:
    """A masked form that identifies a secret without revealing it: ``whsec_abc...xyz``."""
    body = secret.removeprefix(SECRET_PREFIX)
    return f"{SECRET_PREFIX}{body[:3]}...{body[-3:]}"


def signed_headers(
    event_id: str, body: str, signing_secrets: Sequence[str], at: datetime | None = None
) -> dict[str, str]:
    """Every header a delivery attempt sends. ``at``: the signing time (now by default: the
    receiver compares it with its own clock, so it is wall-clock time, not the store's)."""
    if not signing_secrets:
        raise ValueError("a delivery needs at least one secret to sign with")
    moment = at or datetime.now(UTC)
    signatures = " ".join(
        Webhook(secret).sign(event_id, moment, body) for secret in signing_secrets
    )
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
