"""Cognito JWTs checked as API Gateway's JWT authorizer checks them.

The HTTP API puts a JWT authorizer on every owner route when Cognito is configured; a
WebSocket API has none, so its `$connect` (kiln.push) checks the token here, the same
way: RS256 only, a signature by one of the pool's keys (its JWKS), `iss` the pool,
`exp`/`nbf`/`iat` in range, `token_use` id or access, and the app client as the
audience (`aud` in an id token, `client_id` in an access token). The owner is then
`cognito_<sub>`, as `kiln.api.deps.get_owner` makes it from the authorizer's claims.

The token is never logged: a refusal logs its reason (the exception's class) only.
PyJWT, cryptography and httpx are imported on first use: they cost the push functions'
cold start about a third of a second, and nothing needs them while Cognito is off.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from kiln.config import Settings

if TYPE_CHECKING:
    import httpx

__all__ = ["JwksCache", "configured", "issuer", "owner", "owner_for_jwt"]

logger = Logger(service="kiln")

ALGORITHMS = ["RS256"]  # what Cognito signs with; never taken from the token
LEEWAY_S = 30  # clock skew allowed on exp, nbf and iat
TOKEN_USES = ("id", "access")
JWKS_TTL_S = 3600.0
JWKS_QUIET_S = 60.0  # between fetches for an unknown kid or after a failed fetch
JWKS_TIMEOUT_S = 3.0


def configured(settings: Settings) -> bool:
    """Both template parameters set, as the template's `UseCognito` condition asks."""
    return bool(settings.cognito_user_pool_id and settings.cognito_app_client_id)


def owner(sub: str) -> str:
    """The kiln owner a Cognito user is, on REST (kiln.api.deps) and on the WebSocket."""
    return "cognito_" + sub


def issuer(settings: Settings) -> str:
    """The pool's issuer, as the template gives it to the HTTP API's JWT authorizer."""
    return settings.cognito_issuer.rstrip("/") or (
        f"https://cognito-idp.{settings.aws_region}.amazonaws.com/{settings.cognito_user_pool_id}"
    )


class JwksCache:
    """A pool's RSA signing keys by kid, fetched when first needed and again after
    `ttl_s`. A kid it does not know (a rotated key) fetches again, and so does a failed
    fetch, but at most once per `quiet_s`: a flood of made-up kids or an outage of
    Cognito cannot turn every connection into a request to Cognito."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: float = JWKS_TTL_S,
        quiet_s: float = JWKS_QUIET_S,
        timeout_s: float = JWKS_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._ttl_s, self._quiet_s, self._clock = ttl_s, quiet_s, clock
        import httpx

        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._keys: dict[str, Any] = {}
        self._expires_at = -math.inf
        self._quiet_until = -math.inf
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any | None:
        """The public key with this kid, or None."""
        with self._lock:
            now = self._clock()
            due = now >= self._expires_at
            if kid in self._keys and not due:
                return self._keys[kid]
            if now >= self._quiet_until:
                fetched = self._fetch()
                if fetched:
                    self._expires_at = now + self._ttl_s
                if not fetched or not due:
                    self._quiet_until = now + self._quiet_s
            return self._keys.get(kid)

    def _fetch(self) -> bool:
        import httpx
        import jwt

        try:
            resp = self._http.get(self.url)
            resp.raise_for_status()
            data = resp.json()
            if not isinstance(data, dict):
                raise ValueError("the JWKS is not a JSON object")
            keys = {
                k.key_id: k.key
                for k in jwt.PyJWKSet.from_dict(data)
                if k.key_id
                and k.key_type == "RSA"
                and k.algorithm_name == "RS256"
                and k.public_key_use in (None, "sig")
            }
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            logger.warning(
                "cognito jwks not fetched", extra={"jwks_url": self.url, "error": repr(exc)}
            )
            return False
        self._keys = keys
        return True


_caches: dict[str, JwksCache] = {}
_caches_lock = threading.Lock()


def _jwks(settings: Settings) -> JwksCache:
    """One cache per pool for the life of the process."""
    url = issuer(settings) + "/.well-known/jwks.json"
    with _caches_lock:
        if url not in _caches:
            _caches[url] = JwksCache(url)
        return _caches[url]


def _refused(reason: str) -> None:
    logger.info("cognito token refused", extra={"reason": reason})


def owner_for_jwt(settings: Settings, token: str | None) -> str | None:
    """`cognito_<sub>` for a valid id or access token of the configured pool and app
    client; None for anything else (no token included)."""
    if not token:
        return None
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        _refused(type(exc).__name__)
        return None
    kid = header.get("kid")
    if header.get("alg") not in ALGORITHMS or not isinstance(kid, str):
        _refused("not an RS256 token with a kid")
        return None
    key = _jwks(settings).key(kid)
    if key is None:
        _refused("no key of the pool has this kid")
        return None
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=issuer(settings),
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        _refused(type(exc).__name__)
        return None
    use = claims["token_use"]
    audience = claims.get("aud") if use == "id" else claims.get("client_id")
    if use not in TOKEN_USES or audience != settings.cognito_app_client_id:
        _refused("not an id or access token of this app client")
        return None
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        _refused("no sub")
        return None
    return owner(sub)
