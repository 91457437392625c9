"""Who a request counts against: subject, else client IP (X-Forwarded-For from trusted proxies)."""

from __future__ import annotations

import pytest

from sphinxctl.ratelimit import client_ip, client_key

PROXIES = ["10.0.0.0/8", "192.168.1.1"]


def test_subject_wins_over_any_address() -> None:
    assert client_key("alice", "203.0.113.9", "198.51.100.1", PROXIES) == "sub:alice"


def test_peer_address_without_proxies() -> None:
    assert client_key(None, "203.0.113.9") == "ip:203.0.113.9"


def test_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    assert client_key(None, "203.0.113.9", "198.51.100.1", PROXIES) == "ip:203.0.113.9"
    assert client_key(None, "203.0.113.9", "198.51.100.1", []) == "ip:203.0.113.9"


def test_forwarded_for_from_a_trusted_proxy_names_the_client() -> None:
    assert client_key(None, "10.1.2.3", "198.51.100.1", PROXIES) == "ip:198.51.100.1"


def test_client_spoofing_the_header_gets_its_real_address() -> None:
    # the client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw
    header = "1.1.1.1, 198.51.100.7"
    assert client_key(None, "10.0.0.5", header, PROXIES) == "ip:198.51.100.7"


def test_chain_of_trusted_proxies_is_walked_right_to_left() -> None:
    header = "198.51.100.7, 192.168.1.1, 10.9.9.9"
    assert client_key(None, "10.0.0.5", header, PROXIES) == "ip:198.51.100.7"


def test_repeated_headers_are_read_in_order() -> None:
    values = ["1.1.1.1", "198.51.100.7, 10.2.2.2"]
    assert client_key(None, "10.0.0.5", values, PROXIES) == "ip:198.51.100.7"


def test_all_hops_trusted_uses_the_leftmost() -> None:
    assert client_key(None, "10.0.0.5", "10.0.0.1, 10.0.0.2", PROXIES) == "ip:10.0.0.1"


@pytest.mark.parametrize("junk", ["unknown", "_hidden", "1.2.3.999", "", "<script>", "::g"])
def test_unparsable_hop_stops_at_the_last_trusted_address(junk: str) -> None:
    header = f"198.51.100.7, {junk}"
    assert client_key(None, "10.0.0.5", header, PROXIES) == "ip:10.0.0.5"


def test_ports_and_brackets_are_stripped() -> None:
    assert client_key(None, "10.0.0.5", "198.51.100.7:5555", PROXIES) == "ip:198.51.100.7"
    assert client_key(None, "10.0.0.5", "[2001:db8::1]:443", PROXIES) == "ip:2001:db8::/64"


def test_ipv6_clients_are_keyed_by_their_64() -> None:
    a = client_key(None, "2001:db8:1:2::1")
    b = client_key(None, "2001:db8:1:2:ffff::9")
    assert a == b == "ip:2001:db8:1:2::/64"
    assert client_key(None, "2001:db8:1:3::1") != a


def test_ipv4_mapped_ipv6_is_ipv4() -> None:
    assert client_key(None, "::ffff:203.0.113.9") == "ip:203.0.113.9"
    assert client_ip("::ffff:10.0.0.5", "198.51.100.1", PROXIES) is not None
    assert client_key(None, "::ffff:10.0.0.5", "198.51.100.1", PROXIES) == "ip:198.51.100.1"


def test_missing_or_bad_peer() -> None:
    assert client_key(None, None) == "ip:unknown"
    assert client_key(None, "not-an-ip", "198.51.100.1", PROXIES) == "ip:unknown"
    assert client_key("", "203.0.113.9") == "ip:203.0.113.9"


def test_bad_trusted_proxy_configuration_raises() -> None:
    with pytest.raises(ValueError):
        client_key(None, "10.0.0.1", "1.1.1.1", ["10.0.0.0/33"])
