"""The SSRF deny table, kept as a test: each range with an address inside it and,
where it means something, a public neighbour just outside."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reelforge.net.netcheck import DENIED_IPV4, explain_blocked, is_public_address

# (denied range, an address inside, a public address just outside or None)
IPV4_TABLE = [
    ("0.0.0.0/8", "0.255.255.255", "1.0.0.1"),
    ("10.0.0.0/8", "10.20.30.40", "11.0.0.1"),
    ("100.64.0.0/10", "100.127.255.254", "100.128.0.1"),
    ("127.0.0.0/8", "127.0.0.1", "128.0.0.1"),
    ("169.254.0.0/16", "169.254.169.254", "169.255.0.1"),
    ("172.16.0.0/12", "172.31.255.255", "172.32.0.1"),
    ("192.0.0.0/24", "192.0.0.170", "192.0.1.1"),
    ("192.0.2.0/24", "192.0.2.45", "192.0.3.1"),
    ("192.168.0.0/16", "192.168.1.1", "192.169.0.1"),
    ("198.18.0.0/15", "198.19.255.255", "198.20.0.1"),
    ("198.51.100.0/24", "198.51.100.7", "198.51.101.1"),
    ("203.0.113.0/24", "203.0.113.9", "203.0.114.1"),
    ("224.0.0.0/4", "224.0.0.1", "223.255.255.254"),
    ("240.0.0.0/4", "255.255.255.255", None),
]

IPV6_TABLE = [
    ("::1/128", "::1", "2606:4700:4700::1111"),
    ("::/128", "::", None),
    ("64:ff9b::/96", "64:ff9b::808:808", None),
    ("64:ff9b:1::/48", "64:ff9b:1:ffff::1", None),
    ("100::/64", "100::ffff", None),
    ("2001::/23", "2001:1ff::1", "2001:200::1"),
    ("2001:db8::/32", "2001:db8::1", "2001:db9::1"),
    ("2002::/16", "2002:808:808::1", "2003::1"),
    ("fc00::/7", "fd12:3456::1", None),
    ("fe80::/10", "fe80::1", None),
    ("ff00::/8", "ff02::1", None),
]

# The addresses that matter because Python 3.11's is_global calls them global.
NAMED_TRAPS = [
    ("::127.0.0.1", "127.0.0.1, which is loopback"),
    ("::ffff:127.0.0.1", "127.0.0.1, which is loopback"),
    ("::ffff:169.254.169.254", "169.254.169.254, which is link-local"),
    ("64:ff9b::a9fe:a9fe", "169.254.169.254, which is link-local"),
    ("64:ff9b:1::a9fe:a9fe", "local-use NAT64"),
    ("2002:a9fe:a9fe::1", "169.254.169.254, which is link-local"),
    ("2002:7f00:1::", "127.0.0.1, which is loopback"),
    # Teredo, client 10.0.0.1 (stored inverted in the last 32 bits)
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo (2001::/32)"),
    ("224.0.0.1", "multicast (224.0.0.0/4)"),
    ("169.254.169.254", "169.254.169.254 is link-local (169.254.0.0/16)"),
    ("[::1]", "loopback"),
    ("fe80::1%eth0", "link-local"),
    ("::8.8.8.8", "not global unicast"),  # IPv4-compatible is deprecated: never connect
    ("fec0::1", "site-local"),
    ("3fff::1", "documentation"),
    ("5f00::1", "not global unicast"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "::ffff:8.8.8.8",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:80b::200e",
]


@pytest.mark.parametrize(("network", "inside", "outside"), IPV4_TABLE + IPV6_TABLE)
def test_every_range_in_the_table_is_denied(network: str, inside: str, outside: str | None) -> None:
    assert not is_public_address(inside)
    assert f"({network})" in explain_blocked(inside)
    if outside is not None:
        assert is_public_address(outside), explain_blocked(outside)


def test_teredo_is_named_inside_2001_23() -> None:
    assert "2001::/32" in explain_blocked("2001:0::1")
    assert "(2001::/23)" in explain_blocked("2001:1ff::1")


@pytest.mark.parametrize(("address", "explanation"), NAMED_TRAPS)
def test_embedded_and_special_forms_are_denied(address: str, explanation: str) -> None:
    assert not is_public_address(address)
    assert explanation in explain_blocked(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(address)
    assert "not blocked" in explain_blocked(address)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "localhost",
        "1.2.3",
        "127.1",
        "2130706433",
        "0x7f000001",
        "127.000.000.001",
        " 8.8.8.8",
        "8.8.8.8/32",
        "::g",
    ],
)
def test_anything_that_is_not_an_address_is_denied(junk: str) -> None:
    assert not is_public_address(junk)
    assert "not a valid IP address" in explain_blocked(junk)


def test_explanation_names_the_metadata_address() -> None:
    assert explain_blocked("169.254.169.254") == "169.254.169.254 is link-local (169.254.0.0/16)"


# -- properties --------------------------------------------------------------------------------

denied_ipv4 = st.sampled_from([net for net, _why in DENIED_IPV4]).flatmap(
    lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(IPv4Address)
)
any_ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)


def wrappings(v4: IPv4Address) -> list[str]:
    """Every IPv6 form that carries ``v4``: mapped, compatible, NAT64 (both), 6to4, Teredo."""
    n = int(v4)
    teredo = (0x2001 << 112) | (0x41_36_E3_78 << 64) | (0x8000 << 48) | (0xFFFF << 32)
    return [
        f"::ffff:{v4}",
        f"::{v4}",
        str(IPv6Address((0x64_FF9B << 96) | n)),
        str(IPv6Address((0x64_FF9B_0001 << 80) | n)),
        str(IPv6Address((0x2002 << 112) | (n << 80) | 1)),
        str(IPv6Address(teredo | (n ^ 0xFFFFFFFF))),
    ]


@given(denied_ipv4)
def test_a_denied_ipv4_is_denied_in_every_ipv6_wrapping(v4: IPv4Address) -> None:
    assert not is_public_address(str(v4))
    for wrapped in wrappings(v4):
        assert not is_public_address(wrapped), wrapped


@given(denied_ipv4)
def test_embedded_ipv4_is_named_in_the_explanation(v4: IPv4Address) -> None:
    # ::0.0.0.0/::0.0.0.1 are the unspecified and loopback addresses, named as such instead.
    for wrapped in wrappings(v4)[:1] + wrappings(v4)[2:3] + wrappings(v4)[4:]:
        assert f"embeds {v4}, which is" in explain_blocked(wrapped), wrapped


@given(any_ipv4)
def test_a_public_ipv4_is_never_in_a_denied_network(v4: IPv4Address) -> None:
    if is_public_address(str(v4)):
        assert not any(v4 in net for net, _why in DENIED_IPV4)
        assert v4.is_global and not v4.is_multicast
        assert is_public_address(f"::ffff:{v4}")  # the same address, written as IPv6


@given(st.integers(0, 2**128 - 1).map(IPv6Address))
def test_a_public_ipv6_is_global_unicast_and_global(v6: IPv6Address) -> None:
    if is_public_address(str(v6)) and v6.ipv4_mapped is None:
        assert v6 in IPv6Network("2000::/3") and v6.is_global


@given(st.text(max_size=60))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert isinstance(is_public_address(text), bool)
    assert isinstance(explain_blocked(text), str)
