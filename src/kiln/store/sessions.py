"""Anonymous owner sessions: the client keeps a random token, the table keeps its SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from kiln.store.db import Store, from_item, now_iso, to_item

_owner_cache: dict[str, str] = {}
_CACHE_MAX = 10_000


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(store: Store) -> tuple[str, str]:
    """Return (token, owner). Only the token's hash is stored."""
    token = "kiln_" + secrets.token_urlsafe(32)
    owner = "o_" + secrets.token_hex(16)
    store.ddb.put_item(
        TableName=store.table,
        Item=to_item(
            {
                "PK": f"SESSION#{token_hash(token)}",
                "SK": "META",
                "owner": owner,
                "created_at": now_iso(),
            }
        ),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return token, owner


def cached_owner(token: str) -> str | None:
    """The owner of a token this process has already looked up (a session never changes
    owner), without a read."""
    return _owner_cache.get(token_hash(token))


def owner_for_token(store: Store, token: str) -> str | None:
    cached = cached_owner(token)
    if cached:
        return cached
    digest = token_hash(token)
    resp = store.ddb.get_item(
        TableName=store.table, Key=to_item({"PK": f"SESSION#{digest}", "SK": "META"})
    )
    if "Item" not in resp:
        return None
    owner = str(from_item(resp["Item"])["owner"])
    if len(_owner_cache) >= _CACHE_MAX:
        _owner_cache.clear()
    _owner_cache[digest] = owner
    return owner
