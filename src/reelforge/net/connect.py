"""HTTP over a socket we connected ourselves to an address we checked, within one deadline.

Both outbound clients (the image fetcher and the webhook sender) resolve a host once, check
every address (SSRF defence), and must then talk to exactly a checked address: so the socket is
connected here, never by ``http.client`` (which would resolve the name again and could get a
different answer, and which reads no proxy settings when handed a socket). The Host header and
TLS SNI / certificate check keep the URL's name.

``deadline`` is always a ``time.monotonic()`` instant. Socket timeouts shrink to the time left,
and a ``Watchdog`` shuts the socket down when the deadline passes, so a peer that drips bytes
one at a time cannot hold the caller past it either.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from reelforge.net.netcheck import HttpURL


def socket_timeout(deadline: float) -> float:
    """A socket timeout for the next operation; never 0 (that would mean non-blocking)."""
    return max(deadline - time.monotonic(), 0.001)


class Watchdog:
    """Shuts the socket down when the deadline passes, waking a thread blocked on it."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock  # replaced by the TLS socket once the handshake is set up
        self._lock = threading.Lock()
        self._armed = True
        self.fired = False
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        """After this returns the watchdog never touches the socket, so closing it is safe."""
        with self._lock:
            self._armed = False
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self.fired = True
            # Plain shutdown on the descriptor, TLS state untouched; it may be closed already.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)


class ConnectFailed(ConnectionError):
    """No checked address took the connection (or the deadline passed while trying)."""

    def __init__(self, failures: list[str]) -> None:
        self.reasons = "; ".join(failures)  # "ADDRESS: why" for each address tried
        super().__init__(f"could not connect ({self.reasons})")


def connect_first(addresses: Iterable[str], port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first checked address that answers (no name resolution here).
    Stops trying further addresses once the deadline has passed."""
    failures: list[str] = []
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.settimeout(socket_timeout(deadline))
        try:
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            failures.append(f"{address}: {describe_error(exc)}")
            if time.monotonic() >= deadline:
                break
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise ConnectFailed(failures)


def connection_on(
    sock: socket.socket, url: HttpURL, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    """An http.client connection on our socket, so it never connects (or resolves) itself."""
    connection = (
        http.client.HTTPSConnection(url.host, url.port, context=tls)
        if tls is not None
        else http.client.HTTPConnection(url.host, url.port)
    )
    connection.sock = sock  # the Host header still names url.host (and a non-default port)
    return connection


@dataclass(frozen=True, slots=True)
class OpenConnection:
    connection: http.client.HTTPConnection
    sock: socket.socket  # the TLS socket for https: set its timeout before each operation
    watchdog: Watchdog  # ``fired`` after the block: a clean-looking end was really the deadline


@contextlib.contextmanager
def open_connection(
    url: HttpURL, addresses: Iterable[str], deadline: float, tls: ssl.SSLContext | None
) -> Iterator[OpenConnection]:
    """Connect to the first of ``addresses`` that answers, under a watchdog; TLS (with SNI and
    the certificate checked for ``url.host``) when ``tls`` is given. Everything is closed and the
    watchdog disarmed on leaving. Raises ``ConnectFailed`` when no address took the connection."""
    sock = connect_first(addresses, url.port, deadline)
    watchdog = Watchdog(sock, deadline)
    try:
        if tls is not None:
            sock = watchdog.sock = tls.wrap_socket(sock, server_hostname=url.host)
        connection = connection_on(sock, url, tls)
        try:
            yield OpenConnection(connection, sock, watchdog)
        finally:
            connection.close()
    finally:
        watchdog.disarm()
        sock.close()


def describe_error(exc: BaseException) -> str:
    """A short reason for a failed connection or exchange, for a message a person reads."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not valid ({exc.verify_message})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."  # may quote the peer's bytes
