"""A fake Cognito user pool on 127.0.0.1: its JWKS at `{issuer}/.well-known/jwks.json`
as Cognito serves it (RSA keys, `alg: RS256`, `use: sig`), counting the requests, and
id and access tokens minted as Cognito mints them (RS256, the key's `kid` in the header).
The keys are RSA keys generated for the run with `cryptography`."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

POOL_ID = "us-east-1_KilnTest1"
CLIENT_ID = "5k1lnappc1ient0000000000ab"


@dataclass
class SigningKey:
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())

    def jwk(self) -> dict[str, Any]:
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {
            "alg": "RS256",
            "e": data["e"],
            "kid": self.kid,
            "kty": "RSA",
            "n": data["n"],
            "use": "sig",
        }

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class FakeCognitoPool:
    """One user pool with one app client; `keys` are published, `failing` answers 503."""

    def __init__(self) -> None:
        self.keys = [SigningKey()]
        self.jwks_requests = 0
        self.failing = False
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with fake.lock:
                    if self.path != f"/{POOL_ID}/.well-known/jwks.json":
                        body, status = b'{"message":"Not Found"}', 404
                    else:
                        fake.jwks_requests += 1
                        body = json.dumps({"keys": [k.jwk() for k in fake.keys]}).encode()
                        status = 503 if fake.failing else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def issuer(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{POOL_ID}"

    def add_key(self) -> SigningKey:
        """A new key published next to the others (Cognito's key rotation)."""
        key = SigningKey()
        with self.lock:
            self.keys.append(key)
        return key

    def claims(self, sub: str, use: str = "id", **overrides: Any) -> dict[str, Any]:
        """The claims Cognito puts in an id or access token, valid for an hour from now."""
        now = int(time.time())
        common = {
            "sub": sub,
            "iss": self.issuer,
            "event_id": secrets.token_hex(16),
            "token_use": use,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "jti": secrets.token_hex(16),
            "origin_jti": secrets.token_hex(16),
        }
        extra: dict[str, Any]
        if use == "access":
            extra = {
                "client_id": CLIENT_ID,
                "scope": "aws.cognito.signin.user.admin",
                "username": sub,
            }
        else:
            extra = {"aud": CLIENT_ID, "cognito:username": sub, "email_verified": True}
        claims = {**common, **extra, **overrides}
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self, claims: dict[str, Any], key: SigningKey | None = None, kid: str | None = None
    ) -> str:
        key = key or self.keys[0]
        return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": kid or key.kid})

    def token(self, sub: str, use: str = "id", **overrides: Any) -> str:
        return self.sign(self.claims(sub, use, **overrides))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token put together by hand, as an attacker would: header, claims, signature."""
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), signature]
    return ".".join(b64url(p) for p in parts)
