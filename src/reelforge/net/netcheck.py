"""Checks made before the server connects anywhere on a user's behalf (SSRF defence).

``parse_image_url`` enforces the URL's form (http/https, no userinfo, ASCII). ``is_public_address``
says whether an IP address is safe to connect to.

``ipaddress.is_global`` alone is not enough on Python 3.11: it calls ``::127.0.0.1``, NAT64
``64:ff9b::a9fe:a9fe`` (169.254.169.254 inside), 6to4 ``2002:a9fe:a9fe::1`` and multicast
``224.0.0.1`` global. So we unwrap every IPv6 form that carries an IPv4 address (mapped,
IPv4-compatible, NAT64, 6to4, Teredo) and check the IPv4 inside as well as the IPv6 address itself,
against the deny table below. Anything that does not parse is denied (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Final
from urllib.parse import urlsplit

from reelforge.domain.errors import SpecError
from reelforge.domain.limits import MAX_URL_CHARS

DEFAULT_PORTS: Final = {"http": 80, "https": 443}


# (network, why it is denied). The IPv4 table applies to plain IPv4 addresses and to every IPv4
# address found inside an IPv6 one.
DENIED_IPV4: Final[tuple[tuple[IPv4Network, str], ...]] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "the 6to4 relay anycast range"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

DENIED_IPV6: Final[tuple[tuple[IPv6Network, str], ...]] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::1/128", "loopback"),
        ("::/128", "the unspecified address"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique-local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)

# Everything routable on the IPv6 internet is in 2000::/3; the rest is special or unassigned.
GLOBAL_UNICAST_V6: Final = IPv6Network("2000::/3")
_IPV4_MAPPED: Final = IPv6Network("::ffff:0:0/96")
_IPV4_COMPATIBLE: Final = IPv6Network("::/96")
_NAT64: Final = IPv6Network("64:ff9b::/96")


def is_public_address(ip: str) -> bool:
    """True only for an address the fetcher may connect to: public unicast, nothing embedded."""
    return _deny_reason(ip) is None


def is_ip_literal(host: str) -> bool:
    """True when ``host`` is an IP address already (nothing to resolve)."""
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def explain_blocked(ip: str) -> str:
    """Why ``ip`` is denied, e.g. ``"169.254.169.254 is link-local (169.254.0.0/16)"``."""
    reason = _deny_reason(ip)
    return reason if reason is not None else f"{ip} is a public address (not blocked)"


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if address in _IPV4_MAPPED:
        return address.ipv4_mapped
    if (address in _IPV4_COMPATIBLE and int(address) > 1) or address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)  # :: and ::1 are not IPv4-compatible
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client address (Python already undoes the obfuscation)
    return None


def _deny_reason(ip: str) -> str | None:
    try:
        address = ip_address(ip.strip("[]"))
    except ValueError:
        return f"{ip!r} is not a valid IP address"
    if isinstance(address, IPv4Address):
        problem = _ipv4_problem(address)
        return f"{ip} {problem}" if problem else None
    return _ipv6_reason(address, shown=ip)


def _ipv4_problem(address: IPv4Address) -> str | None:
    """What is wrong with an IPv4 address, as a predicate: ``"is loopback (127.0.0.0/8)"``."""
    for network, why in DENIED_IPV4:
        if address in network:
            return f"is {why} ({network})"
    # Backstop for ranges this table may have missed: Python's own list of non-global ranges.
    if not address.is_global:
        return "is not a globally routable address"
    return None


def _ipv6_reason(address: IPv6Address, shown: str) -> str | None:
    inner = embedded_ipv4(address)
    inner_problem = _ipv4_problem(inner) if inner is not None else None
    embeds = f"embeds {inner}, which {inner_problem}" if inner_problem else None
    for network, why in DENIED_IPV6:
        if address in network:
            return f"{shown} is {why} ({network})" + (f" and {embeds}" if embeds else "")
    if embeds is not None:
        return f"{shown} {embeds}"
    if address in _IPV4_MAPPED:
        return None  # an ordinary IPv4 address written in IPv6 form; its IPv4 passed
    if address not in GLOBAL_UNICAST_V6:
        return f"{shown} is not global unicast IPv6 ({GLOBAL_UNICAST_V6})"
    return None


# -- URL form ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpURL:
    """A parsed http(s) URL that passed the syntax rules (no userinfo, ASCII only): an image
    URL (``parse_image_url``) or a webhook URL (``notify.urls.parse_webhook_url``)."""

    url: str
    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int
    target: str  # path and query, what goes on the request line

    @property
    def is_tls(self) -> bool:
        return self.scheme == "https"


def parse_image_url(url: str) -> HttpURL:
    """Check an image URL's form; errors say which rule it broke and what to send instead."""
    if len(url) > MAX_URL_CHARS:
        raise _error(f"image URL is {len(url)} characters; the limit is {MAX_URL_CHARS}")
    if any(not 33 <= ord(c) <= 126 or c == "\\" for c in url):
        raise _error(
            "image URL contains spaces, backslashes, control or non-ASCII characters; "
            "percent-encode them (and write international host names in punycode, xn--...)"
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed or invalid [IPv6] host
        raise _error(f"image URL {shorten_url(url)} cannot be parsed ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"{scheme}:" if scheme else "a URL without a scheme"
        raise _error(
            f"image URL uses {shown}; send an http:// or https:// URL, or the image itself as "
            "data:image/jpeg;base64,... (also image/png, image/webp)"
        )
    if "@" in parts.netloc:
        raise _error("image URL must not contain a user name or password (user:pass@host)")
    host = parts.hostname
    if not host:
        raise _error(f"image URL {shorten_url(url)} has no host name")
    try:
        explicit_port = parts.port
    except ValueError as exc:
        raise _error(f"image URL has an invalid port ({exc})") from exc
    port = DEFAULT_PORTS[scheme] if explicit_port is None else explicit_port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return HttpURL(url=url, scheme=scheme, host=host, port=port, target=target)


def shorten_url(url: str, limit: int = 200) -> str:
    """A URL cut to a length that fits in an error message."""
    return url if len(url) <= limit else url[: limit - 3] + "..."


def _error(message: str) -> SpecError:
    return SpecError(message, field="image")


def check_networks(entries: list[str]) -> list[str]:
    """Validate an operator's list of CIDRs (an allow-list of private networks); ValueError
    names the first entry that is not a network."""
    from ipaddress import ip_network

    for entry in entries:
        try:
            ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"{entry!r} is not a network; write CIDRs like 10.0.0.0/8 or 127.0.0.1/32"
            ) from None
    return entries
