"""One delivery attempt: POST the signed body to a checked address, within one deadline.

The host is resolved for every attempt and the socket is connected by us to an address the
``WebhookUrlPolicy`` allows, so the HTTP client never resolves the name itself (a DNS answer
that changed to a private address fails the attempt, saying so). The Host header and TLS SNI /
certificate check keep the name. Redirects are not followed (a 3xx is a failed attempt, as
Standard Webhooks says). One deadline covers connect, TLS, the request and the response
headers; a watchdog shuts the socket when it passes, so a receiver that drips bytes cannot
hold a dispatcher. The outcome is never an exception: it is recorded as the attempt. A failed
answer's ``Retry-After`` (seconds or an HTTP date) is passed on for the retry schedule.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final

from reelforge.domain.errors import SpecError
from reelforge.net.connect import ConnectFailed, describe_error, open_connection, socket_timeout
from reelforge.notify.urls import WebhookUrlPolicy, parse_webhook_url

_MAX_ERROR_CHARS: Final = 300
_RESPONSE_BYTES_READ: Final = 4096
GONE: Final = 410


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    latency_ms: float
    error: str | None
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (its ``Retry-After``) on a failed answer."""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """The receiver answered 410 Gone: it wants no more deliveries."""
        return self.status_code == GONE


class WebhookSender:
    """Sends deliveries under ``policy``'s address rules. Thread-safe."""

    def __init__(
        self,
        policy: WebhookUrlPolicy,
        timeout_seconds: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        self._tls = ssl_context
        self._tls_lock = threading.Lock()

    def send(self, url: str, headers: dict[str, str], body: str) -> SendResult:
        started = time.monotonic()
        try:
            status, retry_after = self._post(
                url, headers, body.encode(), started + self.timeout_seconds
            )
        except SpecError as exc:  # the URL or its addresses are no longer allowed
            return _result(started, None, str(exc))
        except (OSError, http.client.HTTPException) as exc:
            timed_out = time.monotonic() - started >= self.timeout_seconds
            reason = f"no answer within {self.timeout_seconds:g} s" if timed_out else _describe(exc)
            return _result(started, None, reason)
        if 200 <= status < 300:
            return _result(started, status, None)
        return _result(started, status, _answered(status), parse_retry_after(retry_after))

    def _post(
        self, url: str, headers: dict[str, str], body: bytes, deadline: float
    ) -> tuple[int, str | None]:
        """The answer's status and its ``Retry-After`` header."""
        target = parse_webhook_url(url)
        addresses = self.policy.addresses(target)
        tls = self._tls_context() if target.is_tls else None
        with open_connection(target, addresses, deadline, tls) as link:
            link.sock.settimeout(socket_timeout(deadline))
            link.connection.request("POST", target.target, body=body, headers=headers)
            response = link.connection.getresponse()
            response.read(_RESPONSE_BYTES_READ)  # a little of the body; the rest is ignored
            return response.status, response.getheader("Retry-After")

    def _tls_context(self) -> ssl.SSLContext:
        with self._tls_lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return self._tls


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from ``now`` (wall clock): delta-seconds or an HTTP date
    (RFC 9110). None when absent or unreadable (then the schedule alone decides)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; a malformed one may lack the zone
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _answered(status: int) -> str:
    if status == GONE:
        return "the receiver answered HTTP 410 Gone"
    return f"the receiver answered HTTP {status}"


def _result(
    started: float, status: int | None, error: str | None, retry_after: float | None = None
) -> SendResult:
    latency_ms = (time.monotonic() - started) * 1000.0
    error = error[:_MAX_ERROR_CHARS] if error else None
    return SendResult(status, latency_ms, error, retry_after)


def _describe(exc: BaseException) -> str:
    """``describe_error``'s words, naming the receiver where it misbehaved."""
    if isinstance(exc, ConnectFailed):
        return str(exc)
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    if isinstance(exc, http.client.BadStatusLine):
        return "the receiver did not answer with HTTP"
    return describe_error(exc)
