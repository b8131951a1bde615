"""Where the upstream engine may connect: public addresses, and the operator's private networks.

Upstream servers usually sit on a private network next to the workers, so loopback and private
addresses are allowed only where ``engine_options.allow_private`` lists them (the same rule
webhooks follow). Checked for each upstream's base URL when the engine loads, and for every
video URL a seed gateway hands back before it is fetched.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from reelforge.net.netcheck import explain_blocked, is_public_address

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressRule:
    def __init__(self, allow_private: list[str], resolver: Resolver = system_resolver) -> None:
        self._allowed: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(entry, strict=False) for entry in allow_private
        )
        self._resolver = resolver

    def check_url(self, url: str, what: str) -> None:
        """Raise ``PermissionError`` (one line saying how to allow it) or ``OSError`` when the
        host cannot be resolved."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self._resolver(host, port)
        except OSError as exc:
            raise OSError(f"{what}: host {host!r} does not resolve ({exc})") from None
        blocked = [address for address in addresses if not self.allows(address)]
        if blocked or not addresses:
            reason = explain_blocked(blocked[0]) if blocked else "no address"
            raise PermissionError(
                f"{what}: {host!r} is not on the public internet ({reason}); allow its network "
                f'with engine_options.allow_private = ["{_suggest(blocked)}"]'
            )

    def allows(self, address: str) -> bool:
        if is_public_address(address):
            return True
        try:
            parsed = ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return any(parsed in network for network in self._allowed)


def _suggest(blocked: list[str]) -> str:
    if not blocked:
        return "10.0.0.0/8"
    address = ip_address(blocked[0].split("%", 1)[0])
    return f"{address}/{address.max_prefixlen}"
