"""Scheduled redeploys (`SCHEDULE#sid/META`): storage and the every-minute tick. Their
expressions (EventBridge's `rate(...)` and `cron(...)`) are read by `deploy.cron`.

A schedule sits in the sparse GSI2 partition `SCHEDULES` keyed by its next run, so
`run_due` is one Query. Each due schedule is claimed by a conditional update that
moves `next_run` forward from the value read, so two ticks never fire one run twice.
A schedule's token lives in Secrets Manager under `kiln/schedules/<sid>` and is
deleted with the schedule.

Bounds: at most `KILN_SCHEDULES_PER_OWNER` per owner (an atomic counter at
`OWNER#o/SCHEDULES`) and `KILN_SCHEDULES_PER_PROJECT` per project; a token is checked
with the provider before it is stored. The tick reads every due schedule (paginated)
and starts them round-robin between owners, at most
`KILN_SCHEDULE_RUNS_PER_OWNER_PER_TICK` per owner; the rest stay due for the next
tick. A due schedule whose owner was not seen for `KILN_SCHEDULE_IDLE_DAYS` is deleted
with its token instead of run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from kiln.deploy.cron import next_run, parse_expression
from kiln.deploy.options import check_options
from kiln.deploy.runner import TOKEN_TARGETS, operator_secret, start_deployment
from kiln.deploy.tokens import check_token
from kiln.errors import Conflict, KilnError, NotFound, Unprocessable
from kiln.models import DeploymentRequest, ScheduleRequest
from kiln.store import deployments, projects, sessions
from kiln.store.db import (
    Store,
    from_item,
    iso,
    now_iso,
    sort_key,
    to_item,
    to_values,
    write_if,
)
from kiln.store.db import now as clock

logger = Logger(service="kiln")

PARTITION = "SCHEDULES"
SECRET_PREFIX = deployments.SCHEDULE_SECRET_PREFIX
RUNS_KEPT = 20
# --- storage --------------------------------------------------------------------------


def _key(schedule_id: str) -> dict[str, Any]:
    return to_item({"PK": f"SCHEDULE#{schedule_id}", "SK": "META"})


def _public(item: dict[str, Any]) -> dict[str, Any]:
    hidden = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
    out = {k: v for k, v in item.items() if k not in hidden}
    out["schedule_id"] = str(item["PK"]).removeprefix("SCHEDULE#")
    return out


def secret_name(schedule_id: str) -> str:
    return f"{SECRET_PREFIX}{schedule_id}"


def create_schedule(
    store: Store, owner: str, project_id: str, req: ScheduleRequest, *, at: float | None = None
) -> dict[str, Any]:
    """Validate, bound and store a schedule; its token, checked with the provider, is
    stored last, and deleted again if the schedule cannot be written."""
    project = projects.get_project(store, project_id, owner)
    sessions.mark_seen(store, owner)
    if req.version is not None and req.version > int(project["latest_version"]):
        raise NotFound(f"version {req.version} not found")
    first = next_run(req.expression, clock() if at is None else at)
    token = req.token.get_secret_value().strip() if req.token is not None else ""
    token = token if req.target in TOKEN_TARGETS else ""
    operator = req.target in TOKEN_TARGETS and not token
    options = check_options(req.target, dict(req.options), operator=operator)
    if operator and not operator_secret(store, req.target):
        raise Unprocessable(
            f"a {req.target} token is needed for this schedule", code="token_required"
        )
    limit = store.settings.schedules_per_project
    if _count_for_project(store, project_id) >= limit:
        raise Conflict(
            f"a project has at most {limit} schedules; delete one first",
            code="too_many_schedules",
        )
    _take_owner_slot(store, owner)
    schedule_id = projects.new_id("s_")
    secret = None
    try:
        if token:
            check_token(store.settings, req.target, token)
            secret = deployments.put_secret(store, secret_name(schedule_id), token)
        return _put_schedule(
            store, owner, project_id, schedule_id, req, options, first, bool(secret)
        )
    except Exception:
        if secret:
            deployments.delete_secret(store, secret_name(schedule_id))
        _release_owner_slot(store, owner)
        raise


def _count_for_project(store: Store, project_id: str) -> int:
    resp = store.ddb.query(
        TableName=store.table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p",
        ExpressionAttributeValues=to_item({":p": f"SCHEDULES#{project_id}"}),
        Select="COUNT",
    )
    return int(resp.get("Count", 0))


def _slots_key(owner: str) -> dict[str, Any]:
    return to_item({"PK": f"OWNER#{owner}", "SK": "SCHEDULES"})


def _take_owner_slot(store: Store, owner: str) -> None:
    """One atomic ADD, refused at the cap: parallel creates cannot pass it."""
    limit = store.settings.schedules_per_owner
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_slots_key(owner),
        UpdateExpression="ADD n :one",
        ConditionExpression="attribute_not_exists(n) OR n < :cap",
        ExpressionAttributeValues=to_values({":one": 1, ":cap": limit}),
        otherwise=Conflict(
            f"an owner has at most {limit} schedules; delete one first",
            code="too_many_schedules",
        ),
    )


def _release_owner_slot(store: Store, owner: str) -> None:
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_slots_key(owner),
        UpdateExpression="ADD n :minus",
        ConditionExpression="n > :zero",
        ExpressionAttributeValues=to_values({":minus": -1, ":zero": 0}),
    )


def _put_schedule(
    store: Store,
    owner: str,
    project_id: str,
    schedule_id: str,
    req: ScheduleRequest,
    options: dict[str, Any],
    first: float,
    has_secret: bool,
) -> dict[str, Any]:
    ts = now_iso()
    item: dict[str, Any] = {
        "PK": f"SCHEDULE#{schedule_id}",
        "SK": "META",
        "owner": owner,
        "project_id": project_id,
        "expression": req.expression.strip(),
        "target": req.target,
        "version": req.version,
        "options": options,
        "token_secret": secret_name(schedule_id) if has_secret else None,
        "next_run": first,
        "runs": [],
        "created_at": ts,
        "GSI1PK": f"SCHEDULES#{project_id}",
        "GSI1SK": f"{ts}#{schedule_id}",
        "GSI2PK": PARTITION,
        "GSI2SK": sort_key(first),
    }
    store.ddb.put_item(
        TableName=store.table,
        Item=to_item(item),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return _public(item)


def get_schedule(
    store: Store, schedule_id: str, owner: str | None, project_id: str | None = None
) -> dict[str, Any]:
    resp = store.ddb.get_item(TableName=store.table, Key=_key(schedule_id), ConsistentRead=True)
    item = from_item(resp["Item"]) if "Item" in resp else None
    if (
        item is None
        or (owner is not None and item.get("owner") != owner)
        or (project_id is not None and item.get("project_id") != project_id)
    ):
        raise NotFound("schedule not found")
    return _public(item)


def list_schedules(store: Store, project_id: str) -> list[dict[str, Any]]:
    resp = store.ddb.query(
        TableName=store.table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p",
        ExpressionAttributeValues=to_item({":p": f"SCHEDULES#{project_id}"}),
        ScanIndexForward=False,
    )
    return [_public(from_item(i)) for i in resp.get("Items", [])]


def delete_schedule(store: Store, schedule_id: str, owner: str, project_id: str) -> None:
    """The item first (no more runs), then its token and the owner's slot."""
    _remove(store, get_schedule(store, schedule_id, owner, project_id))


def _remove(store: Store, schedule: dict[str, Any]) -> bool:
    """Delete a schedule once (a second remover finds it gone and changes nothing)."""
    written = write_if(
        store.ddb.delete_item,
        TableName=store.table,
        Key=_key(schedule["schedule_id"]),
        ConditionExpression="attribute_exists(PK)",
    )
    if written is None:
        return False
    if schedule.get("token_secret"):
        deployments.delete_secret(store, secret_name(schedule["schedule_id"]))
    _release_owner_slot(store, schedule["owner"])
    return True


def run_states(store: Store, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs with each deployment's current state (one BatchGetItem)."""
    ids = sorted({r["deployment_id"] for r in runs if r.get("deployment_id")})
    states: dict[str, str] = {}
    if ids:
        keys = [to_item({"PK": f"DEPLOY#{d}", "SK": "META"}) for d in ids]
        resp = store.ddb.batch_get_item(
            RequestItems={
                store.table: {
                    "Keys": keys,
                    "ProjectionExpression": "PK, #s",
                    "ExpressionAttributeNames": {"#s": "state"},
                }
            }
        )
        for raw in resp.get("Responses", {}).get(store.table, []):
            item = from_item(raw)
            states[str(item["PK"]).removeprefix("DEPLOY#")] = str(item["state"])
    return [{**r, "state": states.get(r.get("deployment_id") or "", r["state"])} for r in runs]


# --- the tick -------------------------------------------------------------------------


def due_schedules(store: Store, at: float) -> list[dict[str, Any]]:
    """Every schedule due at `at`, oldest first (all pages)."""
    query: dict[str, Any] = {
        "TableName": store.table,
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :p AND GSI2SK <= :t",
        "ExpressionAttributeValues": to_item({":p": PARTITION, ":t": sort_key(at)}),
    }
    due: list[dict[str, Any]] = []
    while True:
        resp = store.ddb.query(**query)
        due += [_public(from_item(i)) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            return due
        query["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def fair_order(due: list[dict[str, Any]], per_owner: int) -> list[dict[str, Any]]:
    """Round-robin between owners (each owner's oldest first), at most `per_owner` each."""
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for schedule in due:
        by_owner.setdefault(schedule["owner"], []).append(schedule)
    return [
        runs[turn] for turn in range(per_owner) for runs in by_owner.values() if turn < len(runs)
    ]


def _abandoned(store: Store, due: list[dict[str, Any]], at: float) -> set[str]:
    """Owners not seen for the idle period (never marked: counted from the schedule's
    creation)."""
    idle_s = store.settings.schedule_idle_days * 86400
    seen = sessions.last_seen(store, {s["owner"] for s in due})
    gone = set()
    for schedule in due:
        created = datetime.fromisoformat(str(schedule["created_at"]).replace("Z", "+00:00"))
        last = seen.get(schedule["owner"], created.timestamp())
        if at - last > idle_s:
            gone.add(schedule["owner"])
    return gone


def claim_run(store: Store, schedule: dict[str, Any], at: float, run: dict[str, Any]) -> bool:
    """Move next_run past `at` from the value we read and record the run; False if lost."""
    old = schedule["next_run"]
    following = parse_expression(schedule["expression"])
    upcoming = following(max(old, at))
    runs = [run, *schedule.get("runs", [])][:RUNS_KEPT]
    written = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(schedule["schedule_id"]),
        UpdateExpression="SET next_run = :n, GSI2SK = :k, runs = :r, last_run = :t",
        ConditionExpression="attribute_exists(PK) AND next_run = :old",
        ExpressionAttributeValues=to_values(
            {
                ":n": upcoming,
                ":k": sort_key(upcoming),
                ":r": runs,
                ":t": run["time"],
                ":old": old,
            }
        ),
    )
    return written is not None


def _mark_run_failed(store: Store, schedule_id: str, error: str) -> None:
    """The newest run (index 0, just written by our claim) could not start."""
    store.ddb.update_item(
        TableName=store.table,
        Key=_key(schedule_id),
        UpdateExpression="SET runs[0].#s = :e, runs[0].#err = :m",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeNames={"#s": "state", "#err": "error"},
        ExpressionAttributeValues=to_values({":e": "error", ":m": error[:300]}),
    )


def run_due(store: Store, now: float | None = None) -> dict[str, int]:
    """Start the schedules due at `now` (default: the clock), fairly between owners;
    expire those of abandoned owners."""
    at = clock() if now is None else now
    counts = {"due": 0, "started": 0, "skipped": 0, "failed": 0, "deferred": 0, "expired": 0}
    due = due_schedules(store, at)
    counts["due"] = len(due)
    gone = _abandoned(store, due, at)
    for schedule in due:
        if schedule["owner"] in gone and _remove(store, schedule):
            counts["expired"] += 1
            logger.info(
                "schedule of an abandoned session expired",
                extra={"schedule_id": schedule["schedule_id"]},
            )
    live = [s for s in due if s["owner"] not in gone]
    chosen = fair_order(live, store.settings.schedule_runs_per_owner_per_tick)
    counts["deferred"] = len(live) - len(chosen)
    for schedule in chosen:
        deployment_id = projects.new_id("d_")
        run = {"time": iso(at), "deployment_id": deployment_id, "state": "queued"}
        if not claim_run(store, schedule, at, run):
            counts["skipped"] += 1
            continue
        try:
            start_deployment(
                store,
                schedule["owner"],
                DeploymentRequest(
                    project_id=schedule["project_id"],
                    version=schedule.get("version"),
                    target=schedule["target"],
                    options=schedule.get("options") or {},
                ),
                schedule_id=schedule["schedule_id"],
                token_secret=schedule.get("token_secret"),
                deployment_id=deployment_id,
            )
            counts["started"] += 1
        except KilnError as exc:
            counts["failed"] += 1
            logger.info(
                "scheduled deploy could not start",
                extra={"schedule_id": schedule["schedule_id"], "code": exc.code},
            )
            _mark_run_failed(store, schedule["schedule_id"], f"{exc.code}: {exc.message}")
    return counts
