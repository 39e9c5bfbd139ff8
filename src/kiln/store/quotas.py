"""Per-owner daily job counters (`QUOTA#owner#day/META`), one atomic ADD each."""

from __future__ import annotations

from datetime import UTC, datetime

from kiln.errors import RateLimited
from kiln.store.db import Store, from_item, now, to_item, to_values


def take(store: Store, owner: str, limit: int, kind: str = "jobs") -> int:
    """Count one use; raise RateLimited(quota_exceeded) past the daily limit."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    resp = store.ddb.update_item(
        TableName=store.table,
        Key=to_item({"PK": f"QUOTA#{owner}#{day}", "SK": "META"}),
        UpdateExpression="ADD #k :one SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeNames={"#k": kind},
        ExpressionAttributeValues=to_values({":one": 1, ":ttl": int(now()) + 2 * 86400}),
        ReturnValues="UPDATED_NEW",
    )
    used = int(from_item(resp["Attributes"])[kind])
    if used > limit:
        midnight = 86400 - int(now()) % 86400
        raise RateLimited(
            f"daily limit of {limit} {kind} reached; it resets at midnight UTC",
            code="quota_exceeded",
            retry_after=midnight,
        )
    return used
