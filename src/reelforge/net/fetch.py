"""Fetch a user's image URL without letting the user aim our server at our own network (SSRF).

SSRF-safe fetching of a user's image URL: the host is resolved once (in a bounded thread pool,
with a timeout), every returned address must be public (``netcheck``), and the socket is opened
to exactly a checked address by us, so nothing can resolve the name a second time and get a
different answer. The Host header and TLS SNI / certificate check keep the name. Each redirect hop
goes through the same checks. ``http.client`` on a socket we connected ourselves does the HTTP: it
never reads proxy settings from the environment and never decompresses (no gzip bombs).

One whole-fetch deadline covers DNS, connect, TLS, headers and body: socket timeouts shrink to the
time left, and a watchdog shuts the socket when the deadline passes, so a server that drips its
headers one byte at a time cannot hold us past it either.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from ipaddress import ip_address
from types import TracebackType
from typing import Final
from urllib.parse import urljoin

from reelforge.domain.errors import SpecError
from reelforge.domain.limits import MAX_IMAGE_BYTES, describe_size
from reelforge.net.connect import ConnectFailed, describe_error, open_connection, socket_timeout
from reelforge.net.netcheck import (
    DEFAULT_PORTS,
    HttpURL,
    explain_blocked,
    is_ip_literal,
    is_public_address,
    parse_image_url,
    shorten_url,
)

Resolver = Callable[[str, int], list[str]]

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 64 * 1024
_USER_AGENT: Final = "ReelForge-image-fetch/1"
_ACCEPT: Final = "image/jpeg, image/png, image/webp"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (IPv4 and IPv6), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Deadline:
    """The whole fetch's time budget; ``end`` is its ``time.monotonic()`` instant."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def socket_timeout(self) -> float:
        """A socket timeout for the next operation; never 0 (that would mean non-blocking)."""
        return socket_timeout(self.end)

    def error(self) -> SpecError:
        return _error(
            f"fetching the image URL took longer than {self.seconds:g} s; host the image "
            "somewhere faster or send it as a data: URL"
        )


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


class ImageFetcher:
    """Fetches image URLs under the SSRF rules above. Build one per app; thread-safe.

    ``allow_hosts`` is for tests only: loopback ``"IP:PORT"`` entries (``"127.0.0.1:8123"``,
    ``"[::1]:8123"``) naming an address and port the fetcher may connect to even though it is not
    public and the port is not 80/443. It matches the address actually connected to, not the
    name in the URL, so a name that resolves to an allowlisted address works (that is how tests
    check that the Host header keeps the name). ``resolver`` replaces DNS (tests);
    ``ssl_context`` replaces the default certificate-verifying context (tests with their own CA).
    """

    def __init__(
        self,
        *,
        max_bytes: int = MAX_IMAGE_BYTES,
        deadline_seconds: float = 15.0,
        max_redirects: int = 3,
        allow_hosts: frozenset[str] = frozenset(),
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        dns_workers: int = 8,
    ) -> None:
        if max_bytes <= 0 or deadline_seconds <= 0 or max_redirects < 0:
            raise ValueError("max_bytes and deadline_seconds must be > 0, max_redirects >= 0")
        self.max_bytes = max_bytes
        self.deadline_seconds = deadline_seconds
        self.max_redirects = max_redirects
        self._allowed = frozenset(_parse_allow_entry(entry) for entry in allow_hosts)
        self._resolver = resolver or system_resolver
        # Loading the system CA store takes ~0.1 s: done on the first https fetch, not here.
        self._tls = ssl_context
        self._tls_lock = threading.Lock()
        # Bounded: a flood of URLs whose DNS hangs queues here instead of spawning threads.
        self._dns_pool = ThreadPoolExecutor(dns_workers, thread_name_prefix="reelforge-dns")

    def close(self) -> None:
        self._dns_pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> ImageFetcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def fetch(self, url: str) -> bytes:
        """The body of ``url`` (following at most ``max_redirects`` redirects), at most
        ``max_bytes`` long. Every failure is a ``SpecError(field="image")`` saying what to fix."""
        deadline = _Deadline(self.deadline_seconds)
        try:
            return self._follow(url, deadline)
        except SpecError:
            raise
        except ConnectFailed as exc:
            if deadline.expired:
                raise deadline.error() from exc
            raise _error(f"could not connect to the image host ({exc.reasons})") from exc
        except (OSError, http.client.HTTPException) as exc:
            if deadline.expired:
                raise deadline.error() from exc
            raise _error(f"could not fetch the image URL: {_describe(exc)}") from exc

    def _follow(self, url: str, deadline: _Deadline) -> bytes:
        current = url
        for _hop in range(self.max_redirects + 1):
            if deadline.expired:
                raise deadline.error()
            parsed = parse_image_url(current)
            addresses = self._checked_addresses(parsed, deadline)
            outcome = self._exchange(parsed, addresses, deadline)
            if isinstance(outcome, bytes):
                return outcome
            current = urljoin(current, outcome.location)
        raise _error(
            f"image URL redirected more than {self.max_redirects} times; "
            "send the final URL of the image"
        )

    def _checked_addresses(self, parsed: HttpURL, deadline: _Deadline) -> list[str]:
        """Resolve once; every address must be allowed, else the whole URL is refused."""
        usual_port = parsed.port in DEFAULT_PORTS.values()
        if not usual_port and not self._port_allowlisted(parsed.port):
            raise _port_error(parsed.port)  # before any DNS lookup
        addresses = self._resolve(parsed.host, parsed.port, deadline)
        for address in addresses:
            if self._allowlisted(address, parsed.port):
                continue
            if not is_public_address(address):
                raise _error(
                    f"image URL host {parsed.host!r} is not on the public internet: "
                    f"{explain_blocked(address)}; send a publicly reachable URL or a data: URL"
                )
            if not usual_port:
                raise _port_error(parsed.port)
        return addresses

    def _resolve(self, host: str, port: int, deadline: _Deadline) -> list[str]:
        if is_ip_literal(host):
            return [host]
        future = self._dns_pool.submit(self._resolver, host, port)
        try:
            addresses = future.result(timeout=deadline.remaining())
        except FutureTimeout:
            future.cancel()
            raise _error(f"looking up the image host {host!r} took too long") from None
        except (OSError, UnicodeError) as exc:
            raise _error(f"could not resolve the image host {host!r}: {_describe(exc)}") from exc
        if not addresses:
            raise _error(f"the image host {host!r} has no addresses")
        return list(addresses)

    def _port_allowlisted(self, port: int) -> bool:
        return any(allowed_port == port for _ip, allowed_port in self._allowed)

    def _allowlisted(self, address: str, port: int) -> bool:
        try:
            normalized = str(ip_address(address))
        except ValueError:
            return False
        return (normalized, port) in self._allowed

    def _tls_context(self) -> ssl.SSLContext:
        with self._tls_lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return self._tls

    def _exchange(
        self, parsed: HttpURL, addresses: list[str], deadline: _Deadline
    ) -> bytes | _Redirect:
        """One request to a checked address: the body, or where the server redirected us."""
        tls = self._tls_context() if parsed.is_tls else None
        with open_connection(parsed, addresses, deadline.end, tls) as link:
            outcome = _get(link.connection, link.sock, parsed, deadline, self.max_bytes)
        if link.watchdog.fired:  # the shutdown may have looked like a clean end of the body
            raise deadline.error()
        return outcome


def _get(
    connection: http.client.HTTPConnection,
    sock: socket.socket,
    parsed: HttpURL,
    deadline: _Deadline,
    max_bytes: int,
) -> bytes | _Redirect:
    headers = {"User-Agent": _USER_AGENT, "Accept": _ACCEPT, "Connection": "close"}
    sock.settimeout(deadline.socket_timeout())
    connection.request("GET", parsed.target, headers=headers)
    response = connection.getresponse()
    if response.status in REDIRECT_STATUSES:
        location = response.getheader("Location")
        if not location:
            raise _error(
                f"image URL {shorten_url(parsed.url)} answered HTTP {response.status} "
                "without a Location header; send the image's final URL"
            )
        return _Redirect(location.strip())
    if response.status != 200:
        raise _error(
            f"image URL {shorten_url(parsed.url)} answered HTTP {response.status} "
            f"{response.reason}; it must answer 200 with the image"
        )
    if response.length is not None and response.length > max_bytes:
        raise _too_large(max_bytes, f"its Content-Length is {response.length} bytes")
    return _read_capped(response, sock, deadline, max_bytes)


def _read_capped(
    response: http.client.HTTPResponse, sock: socket.socket, deadline: _Deadline, max_bytes: int
) -> bytes:
    """Read the body a chunk at a time, stopping at ``max_bytes + 1`` or the deadline."""
    chunks: list[bytes] = []
    total = 0
    while True:
        if deadline.expired:
            raise deadline.error()
        sock.settimeout(deadline.socket_timeout())
        chunk = response.read1(_CHUNK)
        if not chunk:
            if response.length:  # bytes still owed under Content-Length
                raise _error(
                    f"the image URL's answer ended after {total} of {total + response.length} "
                    "bytes; check that the server sends the whole file"
                )
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes, "the body went past the limit")
        chunks.append(chunk)


def _parse_allow_entry(entry: str) -> tuple[str, int]:
    host, sep, port = entry.rpartition(":")
    try:
        address = ip_address(host.strip("[]"))
        port_number = int(port)
    except ValueError:
        raise ValueError(
            f"allow_hosts entry {entry!r} must be IP:PORT, e.g. 127.0.0.1:8123 or [::1]:8123"
        ) from None
    if not sep or not address.is_loopback or not 0 < port_number < 65536:
        raise ValueError(
            f"allow_hosts entry {entry!r} is not a loopback IP:PORT; the allowlist exists only "
            "for tests that serve images on this machine"
        )
    return str(address), port_number


def _port_error(port: int) -> SpecError:
    return _error(f"image URL uses port {port}; only ports 80 (http) and 443 (https) are allowed")


def _too_large(max_bytes: int, detail: str) -> SpecError:
    return _error(
        f"image at the URL is larger than {describe_size(max_bytes)} ({detail}); "
        "send a smaller JPEG, PNG or WebP"
    )


def _describe(exc: BaseException) -> str:
    """``describe_error``'s words, plus what a server that is not an image host tends to do."""
    if isinstance(exc, http.client.BadStatusLine) and not isinstance(exc, ConnectionError):
        sent = str(exc.args[0]) if exc.args else ""
        return f"the server did not answer with HTTP (it sent {sent[:60]!r})"
    if isinstance(exc, http.client.IncompleteRead):
        return "the answer ended early or its chunked encoding is broken"
    return describe_error(exc)


def _error(message: str) -> SpecError:
    return SpecError(message, field="image")
