"""WebSocket connections and their subscriptions to jobs (kiln.push).

A connection is `CONN#<connection id>/META`: its owner and the jobs it follows. A
subscription is `SUBS#<jid>/CONN#<connection id>`, so the push function finds a job's
viewers with one Query of a small partition. Both carry a TTL a little past API Gateway's
two-hour limit on a connection, so a missed `$disconnect` leaves nothing behind for long.
"""

from __future__ import annotations

from typing import Any

from kiln.store.db import Store, from_item, now, to_item, to_values

TTL_S = 2 * 3600 + 600

__all__ = [
    "add_connection",
    "connection_owner",
    "get_connection",
    "remove_connection",
    "subscribe",
    "subscribers",
]


def _conn_key(connection_id: str) -> dict[str, Any]:
    return to_item({"PK": f"CONN#{connection_id}", "SK": "META"})


def _sub_key(job_id: str, connection_id: str) -> dict[str, Any]:
    return to_item({"PK": f"SUBS#{job_id}", "SK": f"CONN#{connection_id}"})


def add_connection(
    store: Store, connection_id: str, owner: str, session_id: str | None = None
) -> None:
    """`session_id`: the original protocol's conversation the connection continues."""
    fields = {"owner": owner, "session_id": session_id, "expires_at": int(now()) + TTL_S}
    store.ddb.put_item(TableName=store.table, Item={**_conn_key(connection_id), **to_item(fields)})


def get_connection(store: Store, connection_id: str) -> dict[str, Any] | None:
    resp = store.ddb.get_item(
        TableName=store.table, Key=_conn_key(connection_id), ConsistentRead=True
    )
    item = from_item(resp["Item"]) if "Item" in resp else None
    if item is None or int(item.get("expires_at", 0)) < now():
        return None
    return item


def connection_owner(store: Store, connection_id: str) -> str | None:
    item = get_connection(store, connection_id)
    return None if item is None else str(item["owner"])


def subscribe(store: Store, connection_id: str, job_id: str, original: str | None = None) -> None:
    """Follow `job_id` on this connection (listed on the connection for `$disconnect`);
    `original` names the framework when the connection speaks the original protocol."""
    fields = {"expires_at": int(now()) + TTL_S, "original": original}
    item = {**_sub_key(job_id, connection_id), **to_item(fields)}
    store.ddb.put_item(TableName=store.table, Item=item)
    store.ddb.update_item(
        TableName=store.table,
        Key=_conn_key(connection_id),
        UpdateExpression="ADD jobs :j",
        ExpressionAttributeValues=to_values({":j": {job_id}}),
    )


def subscribers(store: Store, job_id: str) -> list[tuple[str, str | None]]:
    """The connections following a job: (id, the original protocol's framework or None)."""
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues=to_item({":pk": f"SUBS#{job_id}"}),
    )
    return [
        (row["SK"]["S"].removeprefix("CONN#"), row["original"]["S"] if "original" in row else None)
        for row in resp.get("Items", [])
    ]


def remove_connection(store: Store, connection_id: str) -> None:
    """The connection and every subscription it made (on `$disconnect`, or once gone)."""
    resp = store.ddb.get_item(
        TableName=store.table, Key=_conn_key(connection_id), ConsistentRead=True
    )
    jobs = from_item(resp["Item"]).get("jobs", set()) if "Item" in resp else set()
    for job_id in jobs:
        store.ddb.delete_item(TableName=store.table, Key=_sub_key(str(job_id), connection_id))
    store.ddb.delete_item(TableName=store.table, Key=_conn_key(connection_id))
