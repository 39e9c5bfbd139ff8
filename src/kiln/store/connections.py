"""WebSocket connections and their subscriptions to jobs (kiln.push).

A connection is `CONN#<connection id>/META`: its owner and the jobs it follows (for
`$disconnect`). A subscription lives in the job's own item, `subs.<connection id> =
{after, original?}`, so the worker that writes the job's events learns its viewers from
the write that reserves each batch (kiln.store.jobs.reserve_events) and posts the batch
itself, with no read and no function in between. Connection items carry a TTL a little
past API Gateway's two-hour limit on a connection, so a missed `$disconnect` leaves
nothing behind for long; a subscription goes with its job's item.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from kiln.store.db import ConditionFailed, Store, conditional, from_item, now, to_item, to_values
from kiln.store.jobs import _key as _job_key

TTL_S = 2 * 3600 + 600
# A job's viewers: every flush posts to each, so a job cannot be made to stall its worker.
MAX_SUBSCRIBERS = 10
# A connection's jobs: `$disconnect` forgets each, so their number is bounded too.
MAX_FOLLOWED = 20
# A job still running or yet to run: the only kind whose subscribers anything posts to.
LIVE = "#s IN (:queued, :running)"
LIVE_VALUES = {":queued": "queued", ":running": "running"}

__all__ = [
    "MAX_FOLLOWED",
    "MAX_SUBSCRIBERS",
    "Subscribed",
    "add_connection",
    "get_connection",
    "remove_connection",
    "subscribe",
]


class Subscribed(Enum):
    """What a subscription attempt found."""

    yes = "yes"
    finished = "finished"  # the job ended: nothing more will be posted
    moved_on = "moved_on"  # events were reserved since the catch-up was read
    full = "full"  # MAX_SUBSCRIBERS already follow the job


def _conn_key(connection_id: str) -> dict[str, Any]:
    return to_item({"PK": f"CONN#{connection_id}", "SK": "META"})


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


def subscribe(
    store: Store, connection_id: str, job_id: str, after: int, original: str | None = None
) -> Subscribed:
    """Follow `job_id` from `after`, the last event the connection has: only while the job
    is live and no event past `after` has been reserved, so every later batch is reserved
    by a write that sees this subscription, and its worker posts it. `original` names the
    framework of a connection that speaks the original protocol."""
    sub = {"after": after, **({"original": original} if original else {})}
    at = "(attribute_not_exists(last_seq) OR last_seq <= :after)"
    for _ in range(2):
        try:
            with conditional():
                store.ddb.update_item(
                    TableName=store.table,
                    Key=_job_key(job_id),
                    UpdateExpression="SET subs.#c = :sub",
                    ConditionExpression=(
                        f"{LIVE} AND attribute_exists(subs) AND "
                        f"(attribute_exists(subs.#c) OR size(subs) < :max) AND {at}"
                    ),
                    ExpressionAttributeNames={"#c": connection_id, "#s": "status"},
                    ExpressionAttributeValues=to_values(
                        {":sub": sub, ":max": MAX_SUBSCRIBERS, ":after": after, **LIVE_VALUES}
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            break
        except ConditionFailed as failed:
            job = failed.old or {}
            if job.get("status") not in LIVE_VALUES.values():
                return Subscribed.finished
            if int(job.get("last_seq", 0)) > after:
                return Subscribed.moved_on
            if "subs" in job:
                return Subscribed.full
            _give_subs(store, job_id)  # a job written before subscriptions lived in it
    else:
        raise RuntimeError(f"job {job_id} has no subscriptions map")
    store.ddb.update_item(
        TableName=store.table,
        Key=_conn_key(connection_id),
        UpdateExpression="ADD jobs :j",
        ExpressionAttributeValues=to_values({":j": {job_id}}),
    )
    return Subscribed.yes


def _give_subs(store: Store, job_id: str) -> None:
    store.ddb.update_item(
        TableName=store.table,
        Key=_job_key(job_id),
        UpdateExpression="SET subs = if_not_exists(subs, :none)",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues=to_values({":none": {}}),
    )


def _unsubscribe(store: Store, job_id: str, connection_id: str) -> None:
    """Forget the connection's subscription to the job; a job that has finished is left
    alone: nothing posts to its subscribers any more."""
    try:
        with conditional():
            store.ddb.update_item(
                TableName=store.table,
                Key=_job_key(job_id),
                UpdateExpression="REMOVE subs.#c",
                ConditionExpression=f"attribute_exists(subs.#c) AND {LIVE}",
                ExpressionAttributeNames={"#c": connection_id, "#s": "status"},
                ExpressionAttributeValues=to_values(LIVE_VALUES),
            )
    except ConditionFailed:
        pass


def remove_connection(store: Store, connection_id: str, job_id: str | None = None) -> None:
    """The connection and every subscription it made (on `$disconnect`, or once gone; a
    worker that found it gone names its job, in case the connection item went first)."""
    resp = store.ddb.get_item(
        TableName=store.table, Key=_conn_key(connection_id), ConsistentRead=True
    )
    jobs = {str(j) for j in (from_item(resp["Item"]).get("jobs", []) if "Item" in resp else [])}
    for followed in sorted(jobs | ({job_id} if job_id else set())):
        _unsubscribe(store, followed, connection_id)
    store.ddb.delete_item(TableName=store.table, Key=_conn_key(connection_id))
