"""WebhookDispatcher: sends the outbox's deliveries, in every ``serve`` and ``worker`` process.

Each of its threads loops: claim due deliveries (a lease, so many dispatchers in many processes
never send the same delivery at once), sign and send each, record the attempt (status, latency,
error) and, on failure, when to try again (``RetryPolicy``, which honours the receiver's
``Retry-After``). A 410 Gone is not retried: it disables the endpoint (its other pending
deliveries fail, and no new ones are made until the owner updates it); on a create's own
``webhook_url`` it fails just that delivery. When nothing is due it sleeps until
an event is recorded (this process's own, or another's relayed by PostgreSQL NOTIFY) or a
second passes, so a new event goes out at once and retries that came due are found soon.

It never blocks generation: its own threads and database connections, a send deadline, and no
exception escapes a thread (a database outage is logged and retried on the next round).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reelforge.core.runtime import Runtime
from reelforge.notify.retry import RetryPolicy
from reelforge.notify.sender import SendResult, WebhookSender
from reelforge.notify.signing import signed_headers
from reelforge.notify.urls import WebhookUrlPolicy
from reelforge.store.database import DatabaseError, describe, is_unavailable
from reelforge.store.webhook_deliveries import ClaimedDelivery

log = logging.getLogger(__name__)

Outcome = Callable[[str], None]
"""Told ``delivered``, ``retrying`` or ``failed`` after each attempt (metrics)."""

CLAIM_BATCH = 4
LEASE_MARGIN_SECONDS = 30.0
POLL_SECONDS = 1.0


class WebhookDispatcher:
    def __init__(
        self,
        runtime: Runtime,
        sender: WebhookSender | None = None,
        *,
        threads: int | None = None,
        retry: RetryPolicy | None = None,
        poll_seconds: float = POLL_SECONDS,
        on_outcome: Outcome | None = None,
    ) -> None:
        settings = runtime.settings
        self._owned_policy: WebhookUrlPolicy | None = None
        if sender is None:
            self._owned_policy = WebhookUrlPolicy.from_settings(settings)
            sender = WebhookSender(self._owned_policy, settings.webhook_timeout_seconds)
        self.runtime = runtime
        self.sender = sender
        self.retry = retry or RetryPolicy()
        self.poll_seconds = poll_seconds
        self._threads_wanted = threads or settings.webhook_dispatchers
        self._on_outcome = on_outcome
        # A lease outlives every send of its batch, so a live dispatcher never loses one.
        self._lease_seconds = CLAIM_BATCH * sender.timeout_seconds + LEASE_MARGIN_SECONDS
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self._threads_wanted):
            thread = threading.Thread(
                target=self._run, name=f"reelforge-webhooks-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop claiming; a send in flight finishes (or times out) first."""
        self._stop.set()
        self.runtime.signals.events_recorded()  # wake the threads that wait for events
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self._owned_policy is not None:
            self._owned_policy.close()

    def _run(self) -> None:
        signals = self.runtime.signals
        while not self._stop.is_set():
            mark = signals.events_mark()
            try:
                sent = self.dispatch_once()
            except Exception as exc:  # log, wait, try again
                self._log_failed_round(exc)
                sent = 0
            if sent == 0 and not self._stop.is_set():
                signals.wait_for_events(mark, timeout=self.poll_seconds)

    def _log_failed_round(self, exc: Exception) -> None:
        if isinstance(exc, DatabaseError) and is_unavailable(exc):
            # An outage: one line per round, not the driver's whole exception chain.
            log.warning(
                "webhook dispatch: database unavailable (%s); retrying in %g s",
                describe(exc),
                self.poll_seconds,
            )
        else:
            log.error(
                "webhook dispatch round failed; retrying in %g s", self.poll_seconds, exc_info=exc
            )

    def dispatch_once(self) -> int:
        """Claim what is due and send it; the number of deliveries handled."""
        webhooks = self.runtime.webhooks
        claimed = webhooks.deliveries.claim_due(CLAIM_BATCH, self._lease_seconds)
        gone: set[str] = set()  # endpoints a 410 disabled this round: their claims are failed
        for claim in claimed:
            if claim.endpoint_id not in gone and self._deliver(claim):
                gone.add(str(claim.endpoint_id))
        return len(claimed)

    def _deliver(self, claim: ClaimedDelivery) -> bool:
        """Send one claimed delivery; True when its endpoint answered 410 Gone."""
        deliveries = self.runtime.webhooks.deliveries
        secrets = self._secrets_for(claim)
        unsendable = _unsendable(claim, secrets)
        if unsendable is not None:
            deliveries.give_up(claim, unsendable)
            self._report("failed")
            return False
        started_at = deliveries.clock()
        result = self.sender.send(
            claim.url, signed_headers(claim.event_id, claim.payload, secrets), claim.payload
        )
        after = self._after(claim, result, deliveries.clock())
        recorded = deliveries.record_attempt(
            claim,
            started_at=started_at,
            latency_ms=result.latency_ms,
            status_code=result.status_code,
            error=after.error,
            delivered=result.delivered,
            next_attempt_at=after.next_at,
            disable_endpoint=after.disable_endpoint,
        )
        if recorded:
            self._log(claim, after, result.delivered)
            self._report(
                "delivered" if result.delivered else "retrying" if after.next_at else "failed"
            )
        return after.disable_endpoint is not None

    def _after(self, claim: ClaimedDelivery, result: SendResult, now: datetime) -> _After:
        """What the attempt's outcome means for the delivery (and its endpoint)."""
        if result.delivered:
            return _After(None, None)
        if not result.gone:
            retry_at = self.retry.next_attempt(
                claim.created_at, claim.attempt, now, result.retry_after
            )
            return _After(retry_at, result.error)
        if claim.endpoint_id is None:  # a create's own webhook_url: just this delivery
            return _After(None, f"{result.error}; a 410 is not retried")
        at = now.isoformat(timespec="seconds")
        return _After(
            None,
            f"{result.error}; endpoint {claim.endpoint_id} is disabled (update it to enable it)",
            disable_endpoint=f"the receiver answered 410 Gone at {at}",
        )

    def _secrets_for(self, claim: ClaimedDelivery) -> tuple[str, ...]:
        """The secrets to sign with; empty when the delivery cannot be signed (its endpoint
        was deleted, or a job without a key asked for a webhook_url)."""
        if claim.signing_secrets or claim.endpoint_id is not None or claim.owner is None:
            return claim.signing_secrets
        # A create's own URL whose key never read its secret: made now, the same one for good.
        return (self.runtime.webhooks.owner_secret(claim.owner),)

    def _log(self, claim: ClaimedDelivery, after: _After, delivered: bool) -> None:
        if delivered:
            log.debug("webhook %s delivered (attempt %d)", claim.id, claim.attempt)
        else:
            # No URL in the log: receivers often carry a token in it.
            log.warning(
                "webhook delivery %s (event %s) attempt %d failed: %s%s",
                claim.id,
                claim.event_id,
                claim.attempt,
                after.error,
                f"; next attempt at {after.next_at:%Y-%m-%d %H:%M:%S}"
                if after.next_at
                else "; giving up (replay it when the receiver works)",
            )

    def _report(self, outcome: str) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)


@dataclass(frozen=True, slots=True)
class _After:
    """After an attempt: when to try again (None: never), the error to record, and the
    reason to disable the endpoint (a 410 Gone)."""

    next_at: datetime | None
    error: str | None
    disable_endpoint: str | None = None


def _unsendable(claim: ClaimedDelivery, secrets: tuple[str, ...]) -> str | None:
    """Why the claimed delivery cannot be sent at all, if so."""
    if claim.endpoint_disabled is not None:
        return (
            f"endpoint disabled: {claim.endpoint_disabled}; update the endpoint to enable it, "
            "then replay"
        )
    if not secrets:
        return "endpoint deleted" if claim.endpoint_id else "no API key to sign with"
    return None
