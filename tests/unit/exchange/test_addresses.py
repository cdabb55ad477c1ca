"""Where a host leads and whether a QR image may be fetched there: every spelling, through a resolver seam."""

from __future__ import annotations

import pytest

from conformance.exchange.addresses import addresses_of, allowed_classes, destination, literal

PUBLIC = "93.184.215.14"
NAMES = {
    "qr.example.com": [PUBLIC],
    "localhost": ["127.0.0.1", "::1"],
    "internal.example.com": ["10.0.0.7"],
    "metadata.example.com": ["169.254.169.254"],
    "split.example.com": [PUBLIC, "127.0.0.1"],  # a name that leads anywhere forbidden is refused
    "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
}


def resolve(name: str) -> list[str]:
    """The test's DNS: no real lookup."""
    return list(NAMES.get(name, []))


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("2130706433", "loopback"),  # decimal
        ("0x7f000001", "loopback"),  # hex
        ("0x7f.1", "loopback"),
        ("0177.0.0.1", "loopback"),  # octal
        ("127.1", "loopback"),
        ("127.0.0.1.", "loopback"),
        ("[::1]", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("[::ffff:7f00:1]", "loopback"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::7f00:1", "loopback"),  # NAT64
        ("2002:7f00:1::1", "loopback"),  # 6to4
        ("localhost", "loopback"),
        ("169.254.169.254", "cloud-metadata"),
        ("0xa9fea9fe", "cloud-metadata"),
        ("::ffff:169.254.169.254", "cloud-metadata"),
        ("fd00:ec2::254", "cloud-metadata"),
        ("100.100.100.200", "cloud-metadata"),
        ("metadata.example.com", "cloud-metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("[fe80::1%25eth0]", "link-local"),
        ("10.0.0.1", "private"),
        ("012.0.0.1", "private"),  # octal 10.0.0.1
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # shared (carrier-grade NAT)
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("internal.example.com", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0", "unspecified"),
        ("[::]", "unspecified"),
        ("192.0.2.1", "reserved"),  # documentation
        ("240.0.0.1", "reserved"),
        ("split.example.com", "loopback"),
    ],
)
def test_the_runners_own_networks_are_refused_in_every_spelling(host: str, kind: str) -> None:
    where = destination(host, resolve=resolve)
    assert where.address is None
    assert where.refused is not None and f"({kind})" in where.refused


@pytest.mark.parametrize(
    ("host", "address"),
    [
        (PUBLIC, PUBLIC),
        ("qr.example.com", PUBLIC),
        ("v6.example.com", "2606:2800:220:1:248:1893:25c8:1946"),
        ("[2606:4700::1111]", "2606:4700::1111"),
        ("::ffff:93.184.215.14", "::ffff:5db8:d70e"),
    ],
)
def test_a_public_address_is_the_one_connected_to(host: str, address: str) -> None:
    assert destination(host, resolve=resolve).address == address


def test_a_name_that_does_not_resolve_is_not_fetched() -> None:
    where = destination("nowhere.example.com", resolve=resolve)
    assert (
        where.address is None
        and where.refused == "not fetched: the host 'nowhere.example.com' does not resolve"
    )


@pytest.mark.parametrize(
    ("target", "host", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1", True),  # the reference's own images
        ("localhost", "127.0.0.2", True),
        ("127.0.0.1", "10.0.0.1", False),
        ("127.0.0.1", "169.254.169.254", False),  # metadata never, whatever the target
        ("10.0.0.5", "internal.example.com", True),  # a target on a private network, images beside it
        ("10.0.0.5", "127.0.0.1", False),
        ("10.0.0.5", "fd00:ec2::254", False),
        ("169.254.7.7", "169.254.169.254", False),
        ("qr.example.com", "127.0.0.1", False),  # the reported case: a remote target, a loopback URL
        ("qr.example.com", "10.0.0.1", False),
    ],
)
def test_only_the_targets_own_kind_of_network_is_allowed(target: str, host: str, allowed: bool) -> None:
    classes = allowed_classes(addresses_of(target, resolve=resolve))
    assert (destination(host, resolve=resolve, allowed=classes).address is not None) is allowed


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "1.0x100.0.0", "example.com", "08.0.0.1"])
def test_what_is_no_ipv4_spelling_is_a_name(host: str) -> None:
    assert literal(host) is None
