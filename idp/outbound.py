"""Which addresses idp may connect to when a client names the URL (server-side request forgery).

A client registers URLs that idp itself fetches (``jwks_uri``, RFC 7591 2). Without a rule, a
client could make idp read from the company's own network: a cloud metadata service at
169.254.169.254, an admin port on 10.0.0.0/8, a database on 127.0.0.1. So an address is refused
unless it is publicly routable; only a host that names the loopback interface itself
(``LOOPBACK_HOSTS``, for local development and tests) may, and then must, be loopback.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Hosts that name this machine: idp may fetch them over http, and their addresses must be
# loopback. "localhost" is checked after resolution like any name, so a hosts file that maps it
# elsewhere is refused.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _unwrapped(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is its IPv4 address on the wire."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The IPv4 address a 6to4 address (RFC 3056, ``2002::/16``) leads to: Python counts that
    prefix as global. NAT64 (``64:ff9b::/96``) and Teredo (``2001::/32``) are refused whole,
    as reserved and private."""
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return [address.sixtofour]
    return []


def _kind(address: IPAddress) -> str | None:
    """What makes ``address`` internal, or None when it is publicly routable."""
    # Checked one by one for a clear log line; ``is_global`` catches the rest (shared address
    # space 100.64.0.0/10, documentation and benchmarking ranges, ...). Multicast and IPv6
    # site-local are named because Python 3.11 counts some of them as global.
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or (
        isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    ):
        return "a reserved address"
    if not address.is_global:
        return "not a publicly routable address"
    return None


def refused_address(address: str, *, loopback_host: bool) -> str | None:
    """Why idp must not connect to ``address`` (an IP literal), or None when it may.

    ``loopback_host`` says the URL's host is one of ``LOOPBACK_HOSTS``: then the address must be
    loopback, and nothing else is accepted for it.
    """
    try:
        parsed = _unwrapped(ipaddress.ip_address(address))
    except ValueError:
        return f"{address!r} is not an IP address"
    if loopback_host:
        return None if parsed.is_loopback else f"{address} is not a loopback address"
    for candidate in (parsed, *_embedded(parsed)):
        kind = _kind(candidate)
        if kind is not None:
            shown = address if candidate == parsed else f"{address} (IPv4 {candidate})"
            return f"{shown} is {kind}"
    return None
