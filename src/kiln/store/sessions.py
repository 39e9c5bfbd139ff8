"""Anonymous owner sessions: the client keeps a random token, the table keeps its SHA-256.

Owners are also marked seen (`OWNER#o/SEEN`, at most hourly per process), so that the
scheduler can expire the schedules of owners who have abandoned their session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from kiln.store.db import Store, from_item, now, now_iso, to_item

_owner_cache: dict[str, str] = {}
_CACHE_MAX = 10_000
SEEN_EVERY_S = 3600
_seen_at: dict[str, float] = {}


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
    owner) and marked seen within the hour, without a read or a write."""
    owner = _owner_cache.get(token_hash(token))
    return owner if owner is not None and seen_recently(owner) else None


def owner_for_token(store: Store, token: str) -> str | None:
    digest = token_hash(token)
    owner = _owner_cache.get(digest)
    if owner is None:
        resp = store.ddb.get_item(
            TableName=store.table, Key=to_item({"PK": f"SESSION#{digest}", "SK": "META"})
        )
        if "Item" not in resp:
            return None
        owner = str(from_item(resp["Item"])["owner"])
        if len(_owner_cache) >= _CACHE_MAX:
            _owner_cache.clear()
        _owner_cache[digest] = owner
    mark_seen(store, owner)
    return owner


def seen_recently(owner: str) -> bool:
    return now() - _seen_at.get(owner, 0.0) < SEEN_EVERY_S


def mark_seen(store: Store, owner: str) -> None:
    """Record that the owner is around; written at most hourly per process."""
    if seen_recently(owner):
        return
    at = now()
    store.ddb.put_item(
        TableName=store.table, Item=to_item({"PK": f"OWNER#{owner}", "SK": "SEEN", "at": at})
    )
    if len(_seen_at) >= _CACHE_MAX:
        _seen_at.clear()
    _seen_at[owner] = at


def last_seen(store: Store, owners: Iterable[str]) -> dict[str, float]:
    """When each owner was last marked seen (owners never marked are left out)."""
    wanted = sorted(set(owners))
    seen: dict[str, float] = {}
    for i in range(0, len(wanted), 100):
        keys = [to_item({"PK": f"OWNER#{o}", "SK": "SEEN"}) for o in wanted[i : i + 100]]
        request = {store.table: {"Keys": keys}}
        while request:
            resp = store.ddb.batch_get_item(RequestItems=request)
            for raw in resp.get("Responses", {}).get(store.table, []):
                item = from_item(raw)
                seen[str(item["PK"]).removeprefix("OWNER#")] = float(item["at"])
            request = resp.get("UnprocessedKeys") or {}
    return seen
