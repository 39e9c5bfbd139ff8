"""Job items (`JOB#jid/META`) and their event batches (`JOB#jid/EVENT#<last seq>`).

State transitions are single-item conditional updates, written the way powertools'
idempotency store writes them: named conditions, `ReturnValuesOnConditionCheckFailure`,
and a domain result instead of a ConditionalCheckFailedException.

    queued --claim--> running --finish--> succeeded | failed | cancelled
      ^                  |
      +----requeue-------+   (sweeper, while attempt < max_attempts)

While a job is queued or running it sits in the sparse GSI2 partition `JOBS#active`
keyed by its heartbeat, so the sweeper finds stale jobs without a scan.
"""

from __future__ import annotations

import json
from typing import Any

from kiln.errors import Conflict, LeaseLost, NotFound
from kiln.models import JobStatus
from kiln.store.db import (
    ConditionFailed,
    Store,
    conditional,
    from_item,
    now,
    now_iso,
    sort_key,
    to_item,
    to_values,
    write_if,
)

ACTIVE = "JOBS#active"

# The conditions of the state changes drawn above; `#s` is the job's status.
IS_QUEUED = "attribute_exists(PK) AND #s = :queued"
STILL_QUEUED = "#s = :queued"
HELD_BY_WORKER = "lease_owner = :w AND #s = :running"
NEXT_BATCH = "(attribute_not_exists(last_seq) OR last_seq = :old)"
# The sweeper's: the heartbeat it read is still the last one, so two sweepers act once.
STALE_RUNNING = "#s = :running AND heartbeat_at = :old"
STALE_QUEUED = "#s = :queued AND heartbeat_at = :old"
STALE_ACTIVE = "#s IN (:running, :queued) AND heartbeat_at = :old"
MAX_EVENTS = 5000  # per read; a client reads the rest with `after=next`


def _key(job_id: str, sk: str = "META") -> dict[str, Any]:
    return to_item({"PK": f"JOB#{job_id}", "SK": sk})


def create_job(store: Store, job_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
    """A queued job; None when one with this id exists (ids derived from what the job is
    for make a retried request create it once)."""
    ts = now()
    item = {
        "PK": f"JOB#{job_id}",
        "SK": "META",
        "status": JobStatus.queued.value,
        "attempt": 0,
        "created_at": now_iso(),
        "heartbeat_at": ts,
        "expires_at": int(ts) + store.settings.job_ttl_days * 86400,
        "GSI2PK": ACTIVE,
        "GSI2SK": sort_key(ts),
        "subs": {},
        **fields,
    }
    written = write_if(
        store.ddb.put_item,
        TableName=store.table,
        Item=to_item(item),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return None if written is None else _public(item)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("PK", "SK", "GSI2PK", "GSI2SK", "subs")}
    out["job_id"] = str(item["PK"]).removeprefix("JOB#")
    return out


def get_job(store: Store, job_id: str, owner: str | None = None) -> dict[str, Any]:
    resp = store.ddb.get_item(TableName=store.table, Key=_key(job_id), ConsistentRead=True)
    item = from_item(resp["Item"]) if "Item" in resp else None
    if item is None or (owner is not None and item.get("owner") != owner):
        raise NotFound("job not found")
    return _public(item)


def claim_job(store: Store, job_id: str, worker: str) -> dict[str, Any] | None:
    """queued -> running for `worker`; None when another delivery already took it."""
    ts = now()
    resp = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(job_id),
        UpdateExpression=(
            "SET #s = :running, lease_owner = :w, heartbeat_at = :now, GSI2SK = :hb, "
            "attempt = if_not_exists(attempt, :zero) + :one"
        ),
        ConditionExpression=IS_QUEUED,
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_values(
            {
                ":running": "running",
                ":queued": "queued",
                ":w": worker,
                ":now": ts,
                ":hb": sort_key(ts),
                ":zero": 0,
                ":one": 1,
            }
        ),
        ReturnValues="ALL_NEW",
    )
    return None if resp is None else _public(from_item(resp["Attributes"]))


def heartbeat(store: Store, job_id: str, worker: str) -> bool:
    """Refresh the lease; returns True when the user asked to cancel. Raises LeaseLost."""
    ts = now()
    try:
        with conditional():
            store.ddb.update_item(
                TableName=store.table,
                Key=_key(job_id),
                UpdateExpression="SET heartbeat_at = :now, GSI2SK = :hb",
                ConditionExpression=f"{HELD_BY_WORKER} AND attribute_not_exists(cancel_requested)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_values(
                    {":now": ts, ":hb": sort_key(ts), ":w": worker, ":running": "running"}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
    except ConditionFailed as failed:
        item = failed.old or get_job(store, job_id)
        if item.get("lease_owner") == worker and item.get("status") == "running":
            return bool(item.get("cancel_requested"))
        raise LeaseLost("the job was taken over or finished") from failed
    return False


def finish_job(
    store: Store, job_id: str, worker: str, status: JobStatus, fields: dict[str, Any]
) -> None:
    """running -> final state, only by the lease owner."""
    values = {":final": status.value, ":w": worker, ":running": "running", ":t": now_iso()}
    sets = ["#s = :final", "finished_at = :t"]
    for i, (_name, value) in enumerate(fields.items()):
        sets.append(f"#f{i} = :f{i}")
        values[f":f{i}"] = value
    names = {"#s": "status", **{f"#f{i}": n for i, n in enumerate(fields)}}
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(job_id),
        UpdateExpression="SET " + ", ".join(sets) + " REMOVE GSI2PK, GSI2SK, lease_owner",
        ConditionExpression=HELD_BY_WORKER,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=to_values(values),
        otherwise=LeaseLost("the job was taken over or finished"),
    )


def park_job(store: Store, job_id: str, worker: str, delay_s: int) -> None:
    """running -> queued by its lease owner, to come back after `delay_s` (SQS delay).

    Used instead of sleeping through a provider's build past the Lambda timeout. The
    attempt counter is given back (a poll is not a failed attempt), and the heartbeat
    is set to when the message becomes visible, so the sweeper does not resend it early.
    """
    ts = now() + delay_s
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(job_id),
        UpdateExpression="SET #s = :queued, heartbeat_at = :hb, GSI2SK = :hbk, "
        "attempt = attempt - :one REMOVE lease_owner",
        ConditionExpression=HELD_BY_WORKER,
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_values(
            {
                ":queued": JobStatus.queued.value,
                ":running": JobStatus.running.value,
                ":w": worker,
                ":hb": ts,
                ":hbk": sort_key(ts),
                ":one": 1,
            }
        ),
        otherwise=LeaseLost("the job was taken over or finished"),
    )


def request_cancel(store: Store, job_id: str, owner: str) -> str:
    """Cancel a queued job at once, or flag a running one; returns the resulting status."""
    job = get_job(store, job_id, owner)
    status = JobStatus(job["status"])
    if status.finished:
        raise Conflict(f"job already {status.value}", code="job_not_cancellable")
    cancelled = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(job_id),
        UpdateExpression="SET #s = :c, finished_at = :t REMOVE GSI2PK, GSI2SK",
        ConditionExpression=STILL_QUEUED,
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_values(
            {":c": "cancelled", ":queued": "queued", ":t": now_iso()}
        ),
    )
    if cancelled is not None:
        return JobStatus.cancelled.value
    store.ddb.update_item(
        TableName=store.table,
        Key=_key(job_id),
        UpdateExpression="SET cancel_requested = :y",
        ExpressionAttributeValues=to_values({":y": True}),
    )
    return JobStatus.running.value


def _guarded_update(
    store: Store, job_id: str, update: str, condition: str, values: dict[str, Any]
) -> bool:
    """One conditional update of the job item; False when its condition no longer holds."""
    return (
        write_if(
            store.ddb.update_item,
            TableName=store.table,
            Key=_key(job_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_values(values),
        )
        is not None
    )


def requeue_job(store: Store, job_id: str, heartbeat_at: float) -> bool:
    """running (stale) -> queued; the heartbeat guard makes two sweepers safe."""
    ts = now()
    return _guarded_update(
        store,
        job_id,
        "SET #s = :queued, heartbeat_at = :now, GSI2SK = :hb REMOVE lease_owner",
        STALE_RUNNING,
        {
            ":queued": "queued",
            ":running": "running",
            ":now": ts,
            ":hb": sort_key(ts),
            ":old": heartbeat_at,
        },
    )


def fail_stale_job(store: Store, job_id: str, heartbeat_at: float, code: str, message: str) -> bool:
    return _guarded_update(
        store,
        job_id,
        "SET #s = :failed, finished_at = :t, error_code = :c, error_message = :m "
        "REMOVE GSI2PK, GSI2SK, lease_owner",
        STALE_ACTIVE,
        {
            ":failed": "failed",
            ":running": "running",
            ":queued": "queued",
            ":t": now_iso(),
            ":c": code,
            ":m": message,
            ":old": heartbeat_at,
        },
    )


def touch_queued(store: Store, job_id: str, heartbeat_at: float) -> bool:
    """Re-arm a queued job's timer before its message is sent again."""
    ts = now()
    return _guarded_update(
        store,
        job_id,
        "SET heartbeat_at = :now, GSI2SK = :hb",
        STALE_QUEUED,
        {":queued": "queued", ":now": ts, ":hb": sort_key(ts), ":old": heartbeat_at},
    )


def stale_jobs(store: Store, older_than: float, limit: int = 100) -> list[dict[str, Any]]:
    resp = store.ddb.query(
        TableName=store.table,
        IndexName="GSI2",
        KeyConditionExpression="GSI2PK = :a AND GSI2SK < :t",
        ExpressionAttributeValues=to_item({":a": ACTIVE, ":t": sort_key(older_than)}),
        Limit=limit,
    )
    return [_public(from_item(i)) for i in resp.get("Items", [])]


def active_jobs_of(store: Store, project_id: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """The project's queued or running jobs of these kinds (from the active partition)."""
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :a",
        "FilterExpression": "project_id = :p",
        "ExpressionAttributeValues": to_item({":a": ACTIVE, ":p": project_id}),
    }
    found: list[dict[str, Any]] = []
    while True:
        resp = store.ddb.query(**kwargs)
        found += [_public(from_item(i)) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            return [j for j in found if j.get("kind") in kinds]
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# --- events ---------------------------------------------------------------------------


def append_events(store: Store, job_id: str, events: list[dict[str, Any]]) -> None:
    """One item per batch, keyed by its last sequence number; never overwrites."""
    first, last = events[0]["seq"], events[-1]["seq"]
    store.ddb.put_item(
        TableName=store.table,
        Item=to_item(
            {
                "PK": f"JOB#{job_id}",
                "SK": f"EVENT#{last:08d}",
                "first": first,
                "last": last,
                "data": json.dumps(events, separators=(",", ":")),
                "expires_at": int(now()) + store.settings.job_ttl_days * 86400,
            }
        ),
        ConditionExpression="attribute_not_exists(PK)",
    )


def read_events(
    store: Store, job_id: str, after: int, max_events: int = MAX_EVENTS
) -> list[dict[str, Any]]:
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND SK BETWEEN :after AND :last",
        ExpressionAttributeValues=to_item(
            {":pk": f"JOB#{job_id}", ":after": f"EVENT#{after:08d}~", ":last": "EVENT#~"}
        ),
        ConsistentRead=True,
    )
    events: list[dict[str, Any]] = []
    for item in resp.get("Items", []):
        events.extend(e for e in json.loads(item["data"]["S"]) if e["seq"] > after)
        if len(events) >= max_events:
            break
    return events


def last_event_seq(store: Store, job_id: str) -> int:
    """The last sequence number reserved for the job's events (0 before any)."""
    resp = store.ddb.get_item(
        TableName=store.table,
        Key=_key(job_id),
        ConsistentRead=True,
        ProjectionExpression="last_seq",
    )
    return int(from_item(resp.get("Item", {})).get("last_seq", 0))


def reserve_events(
    store: Store, job_id: str, worker: str, last: int, new_last: int
) -> dict[str, dict[str, Any]]:
    """Claim sequence numbers last+1..new_last for `worker`'s next batch, in the job item;
    answers the job's subscribers as they are now (kiln.store.connections), at no read.

    Only the lease owner can reserve, so a worker that lost its lease (swept while it hung)
    can never write events that interleave with or duplicate its successor's."""
    resp = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(job_id),
        UpdateExpression="SET last_seq = :new",
        ConditionExpression=f"{HELD_BY_WORKER} AND {NEXT_BATCH}",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_values(
            {":new": new_last, ":old": last, ":w": worker, ":running": "running"}
        ),
        ReturnValues="ALL_NEW",
        otherwise=LeaseLost("the job was taken over or finished"),
    )
    assert resp is not None
    return dict(from_item(resp["Attributes"]).get("subs") or {})
