"""Per-owner rate limit for mutating routes: one atomic counter per owner per minute.

Each counted request is a single DynamoDB `ADD` on `RATE#owner#minute/META` (TTL two
minutes later), so concurrent Lambda instances share the count without a lock. The
limit is a fixed window: cheap and good enough to stop a script from queueing jobs
faster than a person could; the daily quota (kiln.store.quotas) caps the total.
"""

from __future__ import annotations

from fastapi import Depends

from kiln.api.deps import Owner, Store
from kiln.errors import RateLimited
from kiln.store.db import Store as StoreT
from kiln.store.db import from_item, now, to_item, to_values

WINDOW_S = 60


def count_request(store: StoreT, owner: str, limit: int, at: float | None = None) -> int:
    """Count one request of `owner` in the current minute; raise RateLimited past `limit`."""
    t = now() if at is None else at
    minute = int(t // WINDOW_S)
    resp = store.ddb.update_item(
        TableName=store.table,
        Key=to_item({"PK": f"RATE#{owner}#{minute}", "SK": "META"}),
        UpdateExpression="ADD #n :one SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeNames={"#n": "requests"},
        ExpressionAttributeValues=to_values({":one": 1, ":ttl": (minute + 2) * WINDOW_S}),
        ReturnValues="UPDATED_NEW",
    )
    used = int(from_item(resp["Attributes"])["requests"])
    if used > limit:
        retry_after = max(1, (minute + 1) * WINDOW_S - int(t))
        raise RateLimited(
            f"more than {limit} requests in a minute; try again in {retry_after} s",
            code="rate_limited",
            retry_after=retry_after,
        )
    return used


def rate_limit(store: Store, owner: Owner) -> None:
    """FastAPI dependency: count the caller's request against the per-minute limit."""
    count_request(store, owner, store.settings.rate_limit_per_minute)


# `dependencies=[RATE_LIMITED]` on a route decorator; the owner is resolved once per request.
RATE_LIMITED = Depends(rate_limit)
