"""kiln.cognito.JwksCache over time: a clock the test moves and a JWKS served from a
function (httpx's MockTransport), so hours pass without waiting. The HTTP side against a
real server is in tests/integration/test_push_cognito.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kiln.cognito import JwksCache
from tests.fakes.cognito import SigningKey

URL = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_KilnTest1/.well-known/jwks.json"


class Pool:
    """The JWKS endpoint: its keys, its requests, a 503 while `failing`."""

    def __init__(self, *jwks: dict[str, Any]) -> None:
        self.jwks = list(jwks)
        self.requests = 0
        self.failing = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.failing:
            return httpx.Response(503, json={"message": "Service Unavailable"})
        return httpx.Response(200, content=json.dumps({"keys": self.jwks}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key() -> SigningKey:
    return SigningKey()


def cache(pool: Pool, clock: Clock) -> JwksCache:
    return JwksCache(URL, ttl_s=3600, quiet_s=60, clock=clock, transport=httpx.MockTransport(pool))


def test_the_keys_are_fetched_again_once_their_ttl_has_passed(key: SigningKey) -> None:
    pool, clock = Pool(key.jwk()), Clock()
    keys = cache(pool, clock)
    assert keys.key(key.kid) is not None
    clock.now += 3599
    assert keys.key(key.kid) is not None and pool.requests == 1
    clock.now += 1
    assert keys.key(key.kid) is not None and pool.requests == 2


def test_a_failed_refresh_keeps_the_keys_and_waits_the_quiet_period(key: SigningKey) -> None:
    pool, clock = Pool(key.jwk()), Clock()
    keys = cache(pool, clock)
    keys.key(key.kid)
    pool.failing = True
    clock.now += 3600
    for _ in range(5):
        assert keys.key(key.kid) is not None
    assert pool.requests == 2
    clock.now += 60
    pool.failing = False
    assert keys.key(key.kid) is not None and pool.requests == 3


def test_unknown_kids_fetch_again_at_most_once_per_quiet_period(key: SigningKey) -> None:
    pool, clock = Pool(key.jwk()), Clock()
    keys = cache(pool, clock)
    keys.key(key.kid)
    for n in range(10):
        assert keys.key(f"made-up-{n}") is None
    assert pool.requests == 2
    clock.now += 59
    assert keys.key("made-up-again") is None and pool.requests == 2
    clock.now += 1
    rotated = SigningKey()
    pool.jwks.append(rotated.jwk())
    assert keys.key(rotated.kid) is not None and pool.requests == 3


def test_only_rs256_signing_keys_of_the_jwks_are_used(key: SigningKey) -> None:
    """A symmetric key in the set would let anyone who read it sign HS256 tokens."""
    symmetric = {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"}
    encryption = {**SigningKey().jwk(), "kid": "enc", "use": "enc"}
    other_alg = {**SigningKey().jwk(), "kid": "rs512", "alg": "RS512"}
    keys = cache(Pool(symmetric, encryption, other_alg, key.jwk()), Clock())
    assert keys.key(key.kid) is not None
    assert [keys.key(kid) for kid in ("hmac", "enc", "rs512")] == [None, None, None]


@pytest.mark.parametrize(
    "body", [b"<html>Service Unavailable</html>", b"[]", b'{"keys": []}', b'{"keys": "x"}']
)
def test_a_jwks_that_is_not_a_key_set_gives_no_key(key: SigningKey, body: bytes) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    keys = JwksCache(URL, clock=Clock(), transport=transport)
    assert keys.key(key.kid) is None
