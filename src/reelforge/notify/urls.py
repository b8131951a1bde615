"""Where a webhook may be sent: the URL's form and the addresses behind its host (SSRF defence).

A webhook URL is checked twice. When it is registered (an endpoint, or a create's
``webhook_url``) a bad one is a 400 that says why, and nothing is stored. When a delivery is
sent the host is resolved again and the sender connects only to an address that passes the same
rules, so a name that later resolves to ``10.0.0.5`` or ``169.254.169.254`` gets nothing.

The rules are the image fetcher's (``reelforge.net.netcheck``): public unicast only, with every
IPv6 form that embeds an IPv4 address unwrapped. Operators with on-premise receivers allow their
networks with the ``webhook_allow_private`` setting. Any port is allowed (receivers often listen
on 8080 or 3000); http and https both work, https is recommended.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Final
from urllib.parse import urlsplit

from reelforge.core.config import Settings
from reelforge.domain.errors import SpecError
from reelforge.net.fetch import system_resolver
from reelforge.net.netcheck import (
    DEFAULT_PORTS,
    HttpURL,
    explain_blocked,
    is_ip_literal,
    is_public_address,
    shorten_url,
)

Resolver = Callable[[str, int], list[str]]
MAX_WEBHOOK_URL_CHARS: Final = 2048
FIELD: Final = "webhook_url"
WEBHOOK_URL_PATTERN: Final = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    # host: a DNS name or IPv4 address, or an [IPv6] literal
    r"([A-Za-z0-9._~%-]+|\[[0-9A-Za-z:.%]+\])"
    # port: 0-65535 (an empty one means the default)
    r"(:0*(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})?)?"
    # path and query: printable ASCII but # (no fragment) and backslash
    r"([/?][!-\"$-\[\]-~]*)?$"
)
"""The form of a webhook URL that ``parse_webhook_url`` accepts, as the API schemas declare it
(its host must also resolve to an address webhooks may reach, which no schema can say)."""
_WEBHOOK_URL = re.compile(WEBHOOK_URL_PATTERN)


def parse_webhook_url(url: str, field: str = FIELD) -> HttpURL:
    """Check a webhook URL's form; errors say which rule it broke and what to send instead."""
    if len(url) > MAX_WEBHOOK_URL_CHARS:
        raise _error(field, f"is {len(url)} characters; the limit is {MAX_WEBHOOK_URL_CHARS}")
    if any(not 33 <= ord(c) <= 126 or c == "\\" for c in url):
        raise _error(
            field,
            "contains spaces, backslashes, control or non-ASCII characters; percent-encode them "
            "(and write international host names in punycode, xn--...)",
        )
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
    except ValueError as exc:  # an unclosed [IPv6] host, a port that is not a number
        raise _error(field, f"{shorten_url(url)!r} cannot be parsed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"uses {scheme}:" if scheme else f"{shorten_url(url)!r} has no scheme"
        raise _error(field, f"{shown}; send an https:// (or http://) URL")
    if "@" in parts.netloc:
        raise _error(field, "must not contain a user name or password (user:pass@host)")
    if not parts.hostname:
        raise _error(field, f"{shorten_url(url)!r} has no host name")
    if "#" in url:
        raise _error(field, "must not contain a #fragment (it is never sent to the server)")
    if _WEBHOOK_URL.fullmatch(url) is None:  # the host's characters, the port's range
        raise _error(field, f"{shorten_url(url)!r} is not a valid http(s) URL")
    port = DEFAULT_PORTS[scheme] if explicit_port is None else explicit_port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return HttpURL(url, scheme, parts.hostname, port, target)


class WebhookUrlPolicy:
    """Decides which addresses webhooks may be sent to. Thread-safe; ``close`` when done.

    ``allow_private``: networks (CIDRs) allowed although not public, for on-premise receivers.
    ``resolver`` replaces DNS (tests)."""

    def __init__(
        self,
        allow_private: Sequence[str] = (),
        *,
        resolver: Resolver | None = None,
        dns_timeout_seconds: float = 5.0,
    ) -> None:
        self._allowed: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(entry, strict=False) for entry in allow_private
        )
        self._resolver = resolver or system_resolver
        self._dns_timeout = dns_timeout_seconds
        # Bounded: a flood of hosts whose DNS hangs queues here instead of spawning threads.
        self._dns_pool = ThreadPoolExecutor(4, thread_name_prefix="reelforge-webhook-dns")

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookUrlPolicy:
        return cls(settings.webhook_allow_private)

    def close(self) -> None:
        self._dns_pool.shutdown(wait=False, cancel_futures=True)

    def check(self, url: str, field: str = FIELD) -> str:
        """The URL when it may receive webhooks now; else ``SpecError(field=field)`` saying why."""
        self.addresses(parse_webhook_url(url, field), field)
        return url

    def addresses(self, target: HttpURL, field: str = FIELD) -> list[str]:
        """The addresses of ``target``'s host that may be connected to (resolved now, in the
        resolver's order); ``SpecError`` when there are none."""
        resolved = self._resolve(target.host, target.port, field)
        allowed = [address for address in resolved if self.is_allowed(address)]
        if not allowed:
            raise _error(
                field,
                f"host {target.host!r} is not on the public internet: "
                f"{explain_blocked(resolved[0])}; use a publicly reachable URL (an operator can "
                "allow on-premise receivers with the webhook_allow_private setting)",
            )
        return allowed

    def is_allowed(self, address: str) -> bool:
        if is_public_address(address):
            return True
        try:
            parsed = ip_address(address.strip("[]"))
        except ValueError:
            return False
        return any(parsed in network for network in self._allowed)

    def _resolve(self, host: str, port: int, field: str) -> list[str]:
        if is_ip_literal(host):
            return [host]
        future = self._dns_pool.submit(self._resolver, host, port)
        try:
            addresses = future.result(timeout=self._dns_timeout)
        except FutureTimeout:
            future.cancel()
            raise _error(field, f"looking up the host {host!r} took too long") from None
        except (OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise _error(field, f"host {host!r} could not be resolved ({reason})") from None
        if not addresses:
            raise _error(field, f"host {host!r} has no addresses")
        return list(addresses)


def _error(field: str, problem: str) -> SpecError:
    return SpecError(f"{field} {problem}", field=field)
