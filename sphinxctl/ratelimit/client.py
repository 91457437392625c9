"""Who a request counts against: the authenticated subject, else the client's IP address.

X-Forwarded-For is believed only as far as it was written by trusted proxies: starting at the
TCP peer, each hop that is a trusted proxy hands over to the address it forwarded for (the
header read right to left); the first untrusted address is the client. An unparsable entry
stops the walk at the last trusted hop. IPv6 clients are keyed by their /64 (one subscriber's
usual allocation), IPv4-mapped IPv6 addresses as IPv4.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def parse_trusted_proxies(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """'10.0.0.0/8', '192.168.1.1', '::1' -> networks (ValueError on a bad entry)."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies)


def parse_ip(text: str | None) -> IPAddress | None:
    """An address from a peer or an X-Forwarded-For entry ('[::1]:443', '1.2.3.4:80' too)."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(
    peer: str | None,
    forwarded_for: str | Iterable[str] | None = None,
    trusted_proxies: Sequence[str] = (),
) -> IPAddress | None:
    """The client's address after honouring X-Forwarded-For from trusted proxies only.

    `forwarded_for` is the header value, or all its values in order when sent repeatedly.
    """
    current = parse_ip(peer)
    if current is None or not trusted_proxies or not forwarded_for:
        return current
    networks = parse_trusted_proxies(tuple(trusted_proxies))
    values = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for)
    hops = [hop for value in values for hop in value.split(",")]
    for hop in reversed(hops):
        if not _trusted(current, networks):
            return current
        previous = parse_ip(hop)
        if previous is None:
            return current
        current = previous
    return current


def client_key(
    subject: str | None,
    peer: str | None,
    forwarded_for: str | Iterable[str] | None = None,
    trusted_proxies: Sequence[str] = (),
) -> str:
    """'sub:<subject>' for authenticated requests, else 'ip:<address or /64>' ('ip:unknown')."""
    if subject:
        return f"sub:{subject}"
    address = client_ip(peer, forwarded_for, trusted_proxies)
    if address is None:
        return "ip:unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False).compressed}"
    return f"ip:{address.compressed}"


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)
