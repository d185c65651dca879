"""Where a webhook may go: the host of an endpoint is resolved, and every address it resolves to
must be a public one (or inside a network the deployment allows), at registration and again at
each delivery. The delivery then connects to the address that was checked (``PinnedTarget``):
no second look-up between the check and the connection, so a name that answers a public
address to the check and a loopback one to the connection (DNS rebinding) gets nowhere.

Addresses are judged once resolved, never by their spelling: ``2130706433``, ``0x7f000001``,
``0177.0.0.1`` and ``127.1`` all resolve to 127.0.0.1 (inet_aton's rules), and an IPv6 address
that carries an IPv4 one (IPv4-mapped ``::ffff:127.0.0.1``, NAT64 ``64:ff9b::``, 6to4, Teredo)
is judged by the IPv4 address inside it too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from consent.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6052 2.1: the well-known NAT64 prefix, an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(InvalidInput):
    """An endpoint's host resolves to nothing, or to an address webhooks may not reach."""

    def __init__(self, message: str, *, category: str) -> None:
        super().__init__(message, errors={"url": [message]})
        self.category = category


@dataclass(frozen=True)
class PinnedTarget:
    """The checked address to connect to, and the host name TLS and the Host header name."""

    host: str
    address: str
    port: int


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _is_public(address: IPAddress) -> bool:
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:
            return False
        return all(_is_public(inner) for inner in _embedded_ipv4(address))
    return True


def address_allowed(address: IPAddress, allowed_networks: Iterable[str]) -> bool:
    """True for a public address, or one inside a network the deployment allows."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(address))
    networks = [ipaddress.ip_network(network) for network in allowed_networks]
    if any(candidate in network for candidate in candidates for network in networks):
        return True
    return _is_public(address)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver; tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def checked_target(host: str, port: int, *, allowed_networks: Iterable[str]) -> PinnedTarget:
    """Resolve ``host`` and check every address it gives; the first, to connect to.

    Raises EgressRefused (category ``dns``) when it does not resolve, and (``blocked``) when any
    address is loopback, private, link-local, unique-local, multicast, reserved or unspecified
    and outside ``allowed_networks``: one bad address among good ones is enough, since the
    connection could be made to any of them.
    """
    allowed = tuple(allowed_networks)
    try:
        found = resolve(host.strip("[]"), port)
    except (OSError, UnicodeError, ValueError):
        found = []
    if not found:
        raise EgressRefused("The host name does not resolve.", category="dns")
    addresses = []
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address_allowed(address, allowed):
            raise EgressRefused(
                "This host is on a private, loopback or reserved network, which webhooks may "
                "not reach (see CONSENT_WEBHOOKS_ALLOW_NETWORKS).",
                category="blocked",
            )
        addresses.append(str(address))
    return PinnedTarget(host=host.strip("[]"), address=addresses[0], port=port)
