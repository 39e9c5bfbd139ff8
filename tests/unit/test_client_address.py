"""Which address a request is counted against (kiln.api.limits)."""

from __future__ import annotations

from kiln.api.limits import address_subject, peer_address

EVENT = {"requestContext": {"http": {"sourceIp": "198.51.100.4"}}}


def test_on_lambda_api_gateways_source_ip_is_the_address_not_the_forwarded_header() -> None:
    assert peer_address("169.254.0.1", "10.0.0.1", 0, EVENT) == "198.51.100.4"


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored() -> None:
    assert peer_address("203.0.113.7", "10.0.0.1, 10.0.0.2", 0, None) == "203.0.113.7"


def test_one_trusted_hop_takes_the_entry_the_proxy_appended() -> None:
    """CloudFront appends the viewer; whatever the viewer wrote before it is not believed."""
    forwarded = "10.0.0.1, 192.0.2.1"
    assert peer_address("130.176.0.5", forwarded, 1, None) == "192.0.2.1"
    assert peer_address("130.176.0.5", f"{forwarded}, 130.176.0.5", 1, None) == "192.0.2.1"


def test_a_request_that_skipped_the_trusted_proxy_is_counted_by_its_peer() -> None:
    assert peer_address("203.0.113.7", "", 1, None) == "203.0.113.7"


def test_ipv6_addresses_count_per_64_prefix() -> None:
    a = address_subject("2001:db8:1:2:aaaa::1")
    b = address_subject("2001:db8:1:2:bbbb::2")
    assert a == b == "ip:2001:db8:1:2::/64"
    assert address_subject("2001:db8:1:3::1") != a
    assert address_subject("192.0.2.1") == "ip:192.0.2.1"
