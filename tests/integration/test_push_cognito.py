"""The push WebSocket's `$connect` where Cognito is configured: an API Gateway WebSocket
API has no JWT authorizer, so the function checks the JWT as the HTTP API's authorizer
does (kiln.cognito), against a fake user pool on 127.0.0.1 serving its JWKS. Every
attack is refused 401 with nothing written, and no token reaches the logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from kiln.store.db import Store
from kiln.store.sessions import create_session
from tests.fakes.apigw_management import FakeManagementApi
from tests.fakes.cognito import CLIENT_ID, POOL_ID, FakeCognitoPool, SigningKey, unsigned
from tests.integration.test_functions import (  # noqa: F401  (fixtures)
    LambdaContext,
    fresh_event_loop,
    function,
)
from tests.integration.test_push_handler import SITE, connect_event, item, management  # noqa: F401

pytestmark = pytest.mark.integration

SUB = "5e1f0c3a-8d7b-4f6e-9a2b-1c3d4e5f6a7b"


@pytest.fixture
def pool() -> Iterator[FakeCognitoPool]:
    fake = FakeCognitoPool()
    yield fake
    fake.close()


@pytest.fixture
def push(
    function: Callable[[str], ModuleType],  # noqa: F811
    management: FakeManagementApi,  # noqa: F811
    pool: FakeCognitoPool,
    monkeypatch: pytest.MonkeyPatch,
) -> ModuleType:
    """functions/push/app.py configured as the template configures WebSocketFunction with
    CognitoUserPoolId and CognitoAppClientId set; the issuer is the fake pool's."""
    monkeypatch.setenv("KILN_PUSH_ENDPOINT", management.endpoint)
    monkeypatch.setenv("KILN_ALLOWED_ORIGINS", SITE)
    monkeypatch.setenv("KILN_COGNITO_USER_POOL_ID", POOL_ID)
    monkeypatch.setenv("KILN_COGNITO_APP_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("KILN_COGNITO_ISSUER", pool.issuer)
    return function("push")


def everything_logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    """Every record with all its fields (powertools' `extra=` ones too), and the output."""
    records = [f"{r.getMessage()} {r.__dict__}" for r in caplog.records]
    return "\n".join([*records, *capfd.readouterr()])


def connect(push: ModuleType, cid: str, token: str, *, as_query: bool = False) -> int:
    event = (
        connect_event(cid, query={"token": token})
        if as_query
        else connect_event(cid, protocol=f"kiln, {token}")
    )
    return int(push.websocket(event, LambdaContext())["statusCode"])


def owner_of(store: Store, cid: str) -> str | None:
    conn = item(store, f"CONN#{cid}", "META")
    return str(conn["owner"]) if conn else None


# --- accepted -----------------------------------------------------------------------------


def test_a_valid_id_token_as_the_subprotocol_connects_as_cognito_sub(
    push: ModuleType, pool: FakeCognitoPool, store: Store
) -> None:
    event = connect_event("ok1=", protocol=f"kiln, {pool.token(SUB, 'id')}")
    answer = push.websocket(event, LambdaContext())
    assert answer == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "kiln"}}
    assert owner_of(store, "ok1=") == f"cognito_{SUB}"


def test_a_valid_access_token_in_the_query_string_connects_as_cognito_sub(
    push: ModuleType, pool: FakeCognitoPool, store: Store
) -> None:
    assert connect(push, "ok2=", pool.token(SUB, "access"), as_query=True) == 200
    assert owner_of(store, "ok2=") == f"cognito_{SUB}"


# --- refused ------------------------------------------------------------------------------


def _hs256_with_the_public_key(pool: FakeCognitoPool) -> str:
    """The algorithm-confusion attack: HS256 keyed with the pool's public key (which
    anyone can read from the JWKS), hoping the verifier uses it as an HMAC secret."""
    key = pool.keys[0]
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    head_and_body = unsigned(header, pool.claims(SUB)).rsplit(".", 1)[0]
    mac = hmac.new(key.public_pem(), head_and_body.encode(), hashlib.sha256).digest()
    return unsigned(header, pool.claims(SUB), mac)


def _tampered(pool: FakeCognitoPool) -> str:
    """A genuine token whose claims were swapped for another user's, signature kept."""
    head, _, signature = pool.token(SUB).split(".")
    forged = unsigned({}, pool.claims("another-user")).split(".")[1]
    return f"{head}.{forged}.{signature}"


HOUR = 3600
FORGED: dict[str, Callable[[FakeCognitoPool], str]] = {
    "expired": lambda p: p.token(SUB, exp=int(time.time()) - HOUR, iat=int(time.time()) - 2 * HOUR),
    "not_yet_valid": lambda p: p.token(SUB, nbf=int(time.time()) + HOUR),
    "issued_in_the_future": lambda p: p.token(SUB, iat=int(time.time()) + HOUR),
    "no_expiry": lambda p: p.sign({k: v for k, v in p.claims(SUB).items() if k != "exp"}),
    "wrong_issuer": lambda p: p.token(
        SUB, iss=f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}x"
    ),
    "id_token_for_another_client": lambda p: p.token(SUB, "id", aud="another-client"),
    "access_token_for_another_client": lambda p: p.token(SUB, "access", client_id="another-client"),
    "access_token_with_only_an_aud": lambda p: p.token(
        SUB, "access", client_id=None, aud=CLIENT_ID
    ),
    "refresh_token_use": lambda p: p.token(SUB, "id", token_use="refresh", client_id=CLIENT_ID),
    "no_token_use": lambda p: p.sign({k: v for k, v in p.claims(SUB).items() if k != "token_use"}),
    "no_sub": lambda p: p.sign({k: v for k, v in p.claims(SUB).items() if k != "sub"}),
    "signed_by_another_key_under_the_pools_kid": lambda p: p.sign(
        p.claims(SUB), SigningKey(), kid=p.keys[0].kid
    ),
    "alg_none": lambda p: unsigned({"alg": "none", "typ": "JWT"}, p.claims(SUB)),
    "alg_none_with_the_pools_kid": lambda p: unsigned(
        {"alg": "none", "kid": p.keys[0].kid}, p.claims(SUB)
    ),
    "hs256_keyed_with_the_public_key": _hs256_with_the_public_key,
    "tampered_claims": _tampered,
    "garbage": lambda p: "not.a.jwt",
    "two_dots_of_nothing": lambda p: "..",
    "a_json_web_key_instead_of_a_token": lambda p: str(p.keys[0].jwk()),
}


@pytest.mark.parametrize("make", list(FORGED.values()), ids=list(FORGED))
def test_a_forged_or_invalid_cognito_token_is_refused_with_401_and_writes_nothing(
    push: ModuleType, pool: FakeCognitoPool, store: Store, make: Callable[[FakeCognitoPool], str]
) -> None:
    assert connect(push, "bad1=", pool.token(SUB)) == 200  # the pool and the check work
    assert connect(push, "bad2=", make(pool)) == 401
    assert owner_of(store, "bad2=") is None


def test_a_kiln_session_token_is_refused_when_cognito_is_configured(
    push: ModuleType, store: Store
) -> None:
    token, _ = create_session(store)
    assert connect(push, "sess1=", token) == 401
    assert connect(push, "sess2=", token, as_query=True) == 401
    assert owner_of(store, "sess1=") is None and owner_of(store, "sess2=") is None


# --- the JWKS -----------------------------------------------------------------------------


def test_the_jwks_is_fetched_once_for_many_connections(
    push: ModuleType, pool: FakeCognitoPool
) -> None:
    for n in range(5):
        assert connect(push, f"cache{n}=", pool.token(f"user-{n}")) == 200
    assert pool.jwks_requests == 1


def test_a_key_published_after_the_jwks_was_cached_is_fetched_once_and_accepted(
    push: ModuleType, pool: FakeCognitoPool, store: Store
) -> None:
    assert connect(push, "rot1=", pool.token(SUB)) == 200
    rotated = pool.add_key()
    assert connect(push, "rot2=", pool.sign(pool.claims("rotated-user"), rotated)) == 200
    assert owner_of(store, "rot2=") == "cognito_rotated-user"
    assert pool.jwks_requests == 2


def test_a_flood_of_unknown_kids_is_refused_and_fetches_the_jwks_at_most_once_more(
    push: ModuleType, pool: FakeCognitoPool, store: Store
) -> None:
    assert connect(push, "kid0=", pool.token(SUB)) == 200
    stranger = SigningKey()
    for n in range(1, 21):
        forged = pool.sign(pool.claims(SUB), stranger, kid=secrets.token_urlsafe(16))
        assert connect(push, f"kid{n}=", forged) == 401
        assert owner_of(store, f"kid{n}=") is None
    assert pool.jwks_requests == 2


def test_a_jwks_that_cannot_be_fetched_refuses_with_401_and_is_not_asked_again_at_once(
    push: ModuleType, pool: FakeCognitoPool, store: Store
) -> None:
    pool.failing = True
    for n in range(10):
        assert connect(push, f"down{n}=", pool.token(SUB)) == 401
    assert owner_of(store, "down0=") is None
    assert pool.jwks_requests == 1


def test_an_unreachable_user_pool_refuses_with_401_and_logs_no_token(
    push: ModuleType,
    pool: FakeCognitoPool,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = pool.token(SUB)
    pool.close()
    assert connect(push, "gone1=", token) == 401
    assert connect(push, "gone2=", token, as_query=True) == 401
    logged = everything_logged(caplog, capfd)
    assert "cognito jwks not fetched" in logged  # the failure is logged (the capture works) ...
    assert token not in logged and token.split(".")[2] not in logged  # ... the token is not


def test_refused_tokens_are_not_logged(
    push: ModuleType,
    pool: FakeCognitoPool,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [make(pool) for make in FORGED.values()]
    for n, token in enumerate(tokens):
        connect(push, f"log{n}=", token)
    logged = everything_logged(caplog, capfd)
    assert "ExpiredSignatureError" in logged  # the reasons are logged (the capture works) ...
    for token in tokens:
        for part in token.split("."):
            if len(part) > 16:
                assert part not in logged  # ... no token, nor any part of one


def test_a_pool_without_an_app_client_leaves_cognito_off_as_the_template_does(
    function: Callable[[str], ModuleType],  # noqa: F811
    management: FakeManagementApi,  # noqa: F811
    pool: FakeCognitoPool,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`UseCognito` needs both parameters; with one, REST has no authorizer, nor has this."""
    monkeypatch.setenv("KILN_PUSH_ENDPOINT", management.endpoint)
    monkeypatch.setenv("KILN_ALLOWED_ORIGINS", SITE)
    monkeypatch.setenv("KILN_COGNITO_USER_POOL_ID", POOL_ID)
    monkeypatch.setenv("KILN_COGNITO_ISSUER", pool.issuer)
    push = function("push")
    token, owner = create_session(store)
    assert connect(push, "half1=", token) == 200
    assert owner_of(store, "half1=") == owner
    assert connect(push, "half2=", pool.token(SUB)) == 401
    assert pool.jwks_requests == 0


# --- the original protocol (`?session_id=`) -----------------------------------------------

SID = "0c9f6a1e-2b3d-4c5e-8f70-1a2b3c4d5e6f"


def test_an_original_client_without_a_cognito_token_is_refused_when_cognito_is_configured(
    push: ModuleType, store: Store
) -> None:
    """REST's /api/generate sits behind the JWT authorizer: `?session_id=` must not be a
    way around it (no new anonymous owner, no kiln session token)."""
    token, _ = create_session(store)
    for cid, query in (
        ("os1=", {"session_id": SID}),
        ("os2=", {"session_id": SID, "token": token}),
    ):
        answer = push.websocket(connect_event(cid, query=query), LambdaContext())
        assert answer["statusCode"] == 401
        assert item(store, f"CONN#{cid}", "META") is None


def test_an_original_client_with_a_cognito_token_continues_its_conversation_as_cognito_sub(
    push: ModuleType, pool: FakeCognitoPool, store: Store
) -> None:
    query = {"session_id": SID, "token": pool.token(SUB, "id")}
    answer = push.websocket(connect_event("os3=", query=query), LambdaContext())
    assert answer["statusCode"] == 200
    assert owner_of(store, "os3=") == f"cognito_{SUB}"
