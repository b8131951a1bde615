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

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final

from reelforge.domain.errors import SpecError
from reelforge.notify.urls import WebhookTarget, WebhookUrlPolicy, parse_webhook_url

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
        sock = _connect_first(addresses, target.port, deadline)
        watchdog = _Watchdog(sock, deadline - time.monotonic())
        try:
            if target.is_tls:
                sock = watchdog.sock = self._tls_context().wrap_socket(
                    sock, server_hostname=target.host
                )
            connection = _connection_on(sock, target, self._tls if target.is_tls else None)
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                connection.request("POST", target.target, body=body, headers=headers)
                response = connection.getresponse()
                response.read(_RESPONSE_BYTES_READ)  # a little of the body; the rest is ignored
                return response.status, response.getheader("Retry-After")
            finally:
                connection.close()
        finally:
            watchdog.disarm()
            sock.close()

    def _tls_context(self) -> ssl.SSLContext:
        with self._tls_lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return self._tls


class _Watchdog:
    """Shuts the socket down when the deadline passes, waking a thread blocked on it."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.sock = sock  # replaced by the TLS socket once the handshake is set up
        self._lock = threading.Lock()
        self._armed = True
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._armed:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self.sock, socket.SHUT_RDWR)


def _connect_first(addresses: list[str], port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first allowed address that answers (no name resolution)."""
    failures: list[str] = []
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            failures.append(f"{address}: {_describe(exc)}")
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise ConnectionError(f"could not connect ({'; '.join(failures)})")


def _connection_on(
    sock: socket.socket, target: WebhookTarget, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    """An http.client connection on our socket, so it never connects (or resolves) itself."""
    connection = (
        http.client.HTTPSConnection(target.host, target.port, context=tls)
        if tls is not None
        else http.client.HTTPConnection(target.host, target.port)
    )
    connection.sock = sock  # the Host header still names target.host (and a non-default port)
    return connection


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
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not valid ({exc.verify_message})"
    if isinstance(exc, ConnectionError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    if isinstance(exc, http.client.BadStatusLine):
        return "the receiver did not answer with HTTP"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
