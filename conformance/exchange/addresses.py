"""Where a host name leads, and whether the runner may go there on a target's word (QR image fetches).

A URL the target hands out must not turn the runner into a client of its own networks: loopback,
link-local, private (RFC 1918, shared 100.64/10, unique-local fc00::/7), multicast, unspecified, reserved
and cloud-metadata addresses are refused, IPv4 and IPv6 alike, an IPv4 address embedded in IPv6
(mapped, compatible, NAT64, 6to4) judged as that IPv4 address, and an IPv4 literal in any spelling a
resolver accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) read as the address it is.
The one exception is the target's own kind of network: a loopback target (the embedded reference, a dev
server) may serve images from loopback, a target on a private network from that private network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

# Instance metadata services: AWS/GCP/Azure/OpenStack/Oracle, AWS ECS tasks, AWS over IPv6, Alibaba, Oracle
# (legacy). Refused even where their class is the target's (a link-local or private target).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# Networks a site numbers its own hosts in: RFC 1918, shared (carrier-grade NAT) space, unique-local and
# the deprecated site-local IPv6. Other non-global space (documentation, benchmarking, 240/4) is reserved.
PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fec0::/10")
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
COMPATIBLE = ipaddress.IPv6Network("::/96")
# The classes a target of the same class may serve images from; the rest are never fetched.
SHAREABLE = frozenset({"loopback", "private", "link-local"})


def resolve_all(name: str) -> list[str]:
    """Every address ``name`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def _ipv4_number(part: str) -> int | None:
    text = part.lower()
    try:
        if text.startswith("0x"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isascii() and text.isdigit() else None
    except ValueError:
        return None


def ipv4_spelling(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a numbers-and-dots spelling stands for (inet_aton's forms), None for a name."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # a trailing dot
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *front, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in front) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(front):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def literal(host: str) -> Address | None:
    """The address a host spelled as an IP literal stands for, or None for a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None if ":" in text else ipv4_spelling(text)


def _embedded(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or (address in COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_class(address: Address) -> str | None:
    """Why the runner may not go to ``address`` on a target's word (its class), None for a public one."""
    inner = _embedded(address)
    if inner is not None:
        return address_class(inner)
    if address in METADATA:
        return "cloud-metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if any(address.version == network.version and address in network for network in PRIVATE):
        return "private"
    if not address.is_global or address.is_reserved:
        return "reserved"
    return None


@dataclass(frozen=True)
class Destination:
    """A host checked: the address to connect to, or why there is none (``refused``)."""

    address: str | None
    refused: str | None = None


def addresses_of(host: str, *, resolve: Resolver) -> list[Address]:
    """The addresses ``host`` leads to: itself as a literal (any spelling), else what it resolves to."""
    found = literal(host)
    if found is not None:
        return [found]
    addresses = []
    for text in resolve(host.rstrip(".")):
        address = literal(text)
        if address is not None:
            addresses.append(address)
    return addresses


def allowed_classes(target_addresses: Iterable[Address]) -> frozenset[str]:
    """The classes a target at these addresses may send the runner to: its own (loopback, private, ...)."""
    return frozenset(c for a in target_addresses if (c := address_class(a)) in SHAREABLE)


def destination(host: str, *, resolve: Resolver, allowed: frozenset[str] = frozenset()) -> Destination:
    """Where a fetch from ``host`` may connect: one checked address, or the refusal naming why.

    Every address the name resolves to is checked (a name that leads anywhere forbidden is refused), and
    the first is the one connected to: no second lookup between the check and the connection.
    """
    addresses = addresses_of(host, resolve=resolve)
    if not addresses:
        return Destination(None, f"not fetched: the host {host!r} does not resolve")
    for address in addresses:
        why = address_class(address)
        if why is not None and why not in allowed:
            return Destination(
                None,
                f"not fetched: {host!r} leads to {address} ({why}), an address of the runner's own "
                "networks, not the target's",
            )
    return Destination(str(addresses[0]))
