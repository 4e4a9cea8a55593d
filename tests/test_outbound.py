"""The address rule for URLs idp fetches on a client's behalf (``idp.outbound``): plain values."""

from __future__ import annotations

import pytest

from idp.outbound import is_ip_literal, refused_address

INTERNAL = [
    ("0.0.0.0", "an unspecified address"),  # noqa: S104 (a value under test, not a bind)
    ("::", "an unspecified address"),
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("169.254.169.254", "a link-local address"),  # cloud metadata services
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("224.0.0.1", "a multicast address"),
    ("224.0.1.1", "a multicast address"),  # counted as global by Python 3.11
    ("ff02::1", "a multicast address"),
    ("ff0e::1", "a multicast address"),
    ("240.0.0.1", "a private address"),  # reserved, which Python files under private
    ("255.255.255.255", "a private address"),
    ("fec0::1", "a reserved address"),  # IPv6 site-local, counted as global by Python 3.11
    ("64:ff9b::a00:1", "a reserved address"),  # NAT64 of 10.0.0.1
    ("100.64.0.1", "not a publicly routable address"),  # carrier-grade NAT
    ("192.0.2.1", "a private address"),  # documentation
    ("2001:db8::1", "a private address"),
    ("198.18.0.1", "a private address"),  # benchmarking
]


@pytest.mark.parametrize(("address", "kind"), INTERNAL)
def test_internal_addresses_are_refused(address, kind):
    """Unspecified, loopback, private, link-local, multicast and reserved addresses are refused."""
    assert refused_address(address, loopback_host=False) == f"{address} is {kind}"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1 is a private address"),
        ("::ffff:169.254.169.254", "::ffff:169.254.169.254 is a link-local address"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address"),
        ("2002:a00:1::", "2002:a00:1:: (IPv4 10.0.0.1) is a private address"),
        ("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1 (IPv4 169.254.169.254) is a link-local address"),
    ],
)
def test_ipv4_inside_ipv6_is_judged_as_ipv4(address, reason):
    """IPv4-mapped and 6to4 addresses are refused for the IPv4 address they reach."""
    assert refused_address(address, loopback_host=False) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]
)
def test_public_addresses_are_allowed(address):
    """Publicly routable addresses, in every spelling, are allowed."""
    assert refused_address(address, loopback_host=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_loopback_host_must_be_loopback(address):
    """127.0.0.1, [::1] and localhost may reach loopback addresses."""
    assert refused_address(address, loopback_host=True) is None


@pytest.mark.parametrize("address", ["10.0.0.1", "8.8.8.8", "169.254.169.254", "::"])
def test_loopback_host_elsewhere_is_refused(address):
    """A loopback host (localhost in a doctored hosts file) that resolves elsewhere is refused."""
    assert refused_address(address, loopback_host=True) == f"{address} is not a loopback address"


def test_names_are_not_addresses():
    """The rule takes resolved addresses; anything else is refused, never guessed at."""
    assert refused_address("shop.example", loopback_host=False) == (
        "'shop.example' is not an IP address"
    )
    assert not is_ip_literal("127.1") and is_ip_literal("::1")
