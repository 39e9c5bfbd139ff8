"""Deployments (`DEPLOY#did/META`) and the provider tokens that travel to the deploy worker.

A deployment item holds the target's `Journal` (as a map) and is fenced by the worker
that currently runs it: `take_lease` writes the worker's id after it has claimed the
job, and every later journal save is conditional on that id. A worker that lost its
job to the sweeper (and so its deployment to the next worker) cannot overwrite the
journal its successor is using; it gets `LeaseLost` instead. This is how "conditional
on the job's lease" works without a transaction across two items.

Deployments of one project are listed through GSI1 (`DEPLOYS#<pid>` / `<created>#<did>`).

Tokens are never written to DynamoDB: a per-request token goes to Secrets Manager
under `kiln/deploys/<did>` and is deleted when the deploy ends; a schedule's token
lives under `kiln/schedules/<sid>` until the schedule is deleted. botocore logs
request and response bodies at DEBUG, so this module installs a filter that blanks
those records when they carry a secret value.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from kiln.deploy.journal import Journal
from kiln.errors import LeaseLost, NotFound
from kiln.models import JobStatus
from kiln.store.db import (
    Store,
    from_item,
    now,
    now_iso,
    to_item,
    to_values,
    write_if,
)

STATES = ("queued", "building", "uploading", "polling", "ready", "error", "cancelled")
FINAL_STATES = ("ready", "error", "cancelled")
DEPLOY_SECRET_PREFIX = "kiln/deploys/"
SCHEDULE_SECRET_PREFIX = "kiln/schedules/"
_TTL_S = 90 * 86400

# The conditions of a deployment's state changes; `#s` is its state.
HELD_BY_WORKER = "worker = :w"
NOT_ENDED = "NOT #s IN (:r, :e, :c)"


def _key(deployment_id: str) -> dict[str, Any]:
    return to_item({"PK": f"DEPLOY#{deployment_id}", "SK": "META"})


def _public(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("PK", "SK", "GSI1PK", "GSI1SK")}
    out["deployment_id"] = str(item["PK"]).removeprefix("DEPLOY#")
    return out


def create_deployment(store: Store, deployment_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A queued deployment; `fields` must name owner, project_id, version, target, job_id."""
    ts = now_iso()
    item = {
        "PK": f"DEPLOY#{deployment_id}",
        "SK": "META",
        "state": "queued",
        "journal": Journal(target=fields["target"]).model_dump(),
        "created_at": ts,
        "updated_at": ts,
        "requeues": 0,
        "expires_at": int(now()) + _TTL_S,
        "GSI1PK": f"DEPLOYS#{fields['project_id']}",
        "GSI1SK": f"{ts}#{deployment_id}",
        **fields,
    }
    store.ddb.put_item(
        TableName=store.table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
    )
    return _public(item)


def get_deployment(store: Store, deployment_id: str, owner: str | None = None) -> dict[str, Any]:
    """The deployment if it exists and belongs to `owner` (None skips the check: workers)."""
    resp = store.ddb.get_item(TableName=store.table, Key=_key(deployment_id), ConsistentRead=True)
    item = from_item(resp["Item"]) if "Item" in resp else None
    if item is None or (owner is not None and item.get("owner") != owner):
        raise NotFound("deployment not found")
    return _public(item)


def list_deployments(store: Store, project_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first."""
    resp = store.ddb.query(
        TableName=store.table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p",
        ExpressionAttributeValues=to_item({":p": f"DEPLOYS#{project_id}"}),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [_public(from_item(i)) for i in resp.get("Items", [])]


def take_lease(store: Store, deployment_id: str, worker: str) -> dict[str, Any]:
    """Make `worker` the only writer of this deployment; returns the item as it is now.

    Call after claiming the job: the job claim decides who runs, this fences the rest.
    """
    resp = store.ddb.update_item(
        TableName=store.table,
        Key=_key(deployment_id),
        UpdateExpression="SET worker = :w, updated_at = :t, #s = if_not_exists(#s, :b)",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues=to_values({":w": worker, ":t": now_iso(), ":b": "building"}),
        ReturnValues="ALL_NEW",
    )
    return _public(from_item(resp["Attributes"]))


def update_deployment(
    store: Store, deployment_id: str, worker: str, fields: dict[str, Any]
) -> None:
    """Set fields (journal, state, url, ...) while `worker` holds the deployment."""
    values: dict[str, Any] = {":w": worker, ":t": now_iso()}
    sets = ["updated_at = :t"]
    names: dict[str, str] = {}
    for i, (name, value) in enumerate(fields.items()):
        names[f"#f{i}"] = name
        values[f":f{i}"] = value
        sets.append(f"#f{i} = :f{i}")
    extra = {"ExpressionAttributeNames": names} if names else {}
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(deployment_id),
        UpdateExpression="SET " + ", ".join(sets),
        ConditionExpression=HELD_BY_WORKER,
        ExpressionAttributeValues=to_values(values),
        otherwise=LeaseLost("another worker runs this deployment now"),
        **extra,
    )


def save_journal(
    store: Store, deployment_id: str, worker: str, journal: Journal, state: str
) -> None:
    update_deployment(
        store,
        deployment_id,
        worker,
        {"journal": journal.model_dump(), "state": state, "step": journal.step},
    )


def cancel_unstarted(store: Store, deployment_id: str) -> None:
    """Its job was cancelled while no worker ran it (queued, or parked between polls); a
    deployment that already ended keeps its state."""
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(deployment_id),
        UpdateExpression="SET #s = :c, updated_at = :t, finished_at = :t",
        ConditionExpression=NOT_ENDED,
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues=to_values(
            {":c": "cancelled", ":r": "ready", ":e": "error", ":t": now_iso()}
        ),
    )


# --- what kiln created with the operator's tokens ----------------------------------------


def _resource_key(owner: str, target: str, project_id: str) -> dict[str, Any]:
    return to_item({"PK": f"OWNER#{owner}", "SK": f"TARGET#{target}#{project_id}"})


def operator_resource(
    store: Store, owner: str, target: str, project_id: str
) -> dict[str, str] | None:
    """The site, repository or project kiln created for this owner's project, if any."""
    resp = store.ddb.get_item(
        TableName=store.table,
        Key=_resource_key(owner, target, project_id),
        ConsistentRead=True,
    )
    if "Item" not in resp:
        return None
    return {str(k): str(v) for k, v in from_item(resp["Item"])["resource"].items()}


def record_operator_resource(
    store: Store, owner: str, target: str, project_id: str, resource: dict[str, str]
) -> dict[str, str]:
    """Remember what kiln created; the first record wins, and the one kept is returned."""
    item = {
        **from_item(_resource_key(owner, target, project_id)),
        "resource": resource,
        "created_at": now_iso(),
    }
    written = write_if(
        store.ddb.put_item,
        TableName=store.table,
        Item=to_item(item),
        ConditionExpression="attribute_not_exists(PK)",
    )
    if written is None:
        return operator_resource(store, owner, target, project_id) or resource
    return resource


def claim_site_pages(store: Store, owner: str, project_id: str, mark: str) -> bool:
    """Whether the deployment ordered by `mark` (`<created_at>#<did>`) may put the pages of
    the project's s3 site: no deployment created after it has put them already. A deploy
    resumed late (parked on a throttle) then never rolls the site back over a newer one."""
    done = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_resource_key(owner, "s3", project_id),
        UpdateExpression="SET pages = :m",
        ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(pages) OR pages <= :m)",
        ExpressionAttributeValues=to_values({":m": mark}),
    )
    return done is not None


# --- tokens in Secrets Manager ----------------------------------------------------------


def deploy_secret_name(deployment_id: str) -> str:
    return f"{DEPLOY_SECRET_PREFIX}{deployment_id}"


def put_secret(store: Store, name: str, value: str) -> str:
    """Store a token; returns its ARN. Overwrites a secret of the same name (a retry)."""
    sm = store.client("secretsmanager")
    try:
        resp = sm.create_secret(Name=name, SecretString=value)
    except sm.exceptions.ResourceExistsException:
        resp = sm.put_secret_value(SecretId=name, SecretString=value)
    return str(resp["ARN"])


def read_secret(store: Store, name: str) -> str | None:
    """The token by name or ARN. An ARN's random suffix changes when the local emulator
    replays its journal after a restart, so an ARN that is not found is retried by name."""
    sm = store.client("secretsmanager")
    ids = [name]
    if name.startswith("arn:") and ":secret:" in name:
        ids.append(name.split(":secret:", 1)[1][:-7])  # drop "-" + the 6-character suffix
    for secret_id in ids:
        try:
            return str(sm.get_secret_value(SecretId=secret_id)["SecretString"])
        except (sm.exceptions.ResourceNotFoundException, sm.exceptions.InvalidRequestException):
            continue
    return None


def delete_secret(store: Store, name: str) -> None:
    """Gone at once (no recovery window): a token must not outlive its use."""
    sm = store.client("secretsmanager")
    with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def sweep_secrets(store: Store, *, grace_s: float) -> int:
    """Delete the tokens nothing will use again; returns how many.

    `kiln/deploys/<did>`: its deployment is finished, or queued behind a job that was
    cancelled (that deployment is ended here too), or absent. `kiln/schedules/<sid>`:
    its schedule is absent. An absent item may simply not be written yet, so a secret
    without one is only deleted once it is older than `grace_s`.
    """
    sm = store.client("secretsmanager")
    swept = 0
    pages = sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": ["kiln/"]}]
    )
    for page in pages:
        for entry in page.get("SecretList", []):
            name = str(entry["Name"])
            if name.startswith(DEPLOY_SECRET_PREFIX):
                used = _deploy_needs_token(store, name.removeprefix(DEPLOY_SECRET_PREFIX))
            elif name.startswith(SCHEDULE_SECRET_PREFIX):
                sid = name.removeprefix(SCHEDULE_SECRET_PREFIX)
                key = to_item({"PK": f"SCHEDULE#{sid}", "SK": "META"})
                used = (
                    True if "Item" in store.ddb.get_item(TableName=store.table, Key=key) else None
                )
            else:
                continue
            created = entry.get("CreatedDate")
            young = created is not None and now() - created.timestamp() < grace_s
            if used is False or (used is None and not young):
                delete_secret(store, name)
                swept += 1
    return swept


def _deploy_needs_token(store: Store, deployment_id: str) -> bool | None:
    """True while the deployment may still run, False once it cannot, None: no item."""
    try:
        dep = get_deployment(store, deployment_id)
    except NotFound:
        return None
    if dep["state"] in FINAL_STATES:
        return False
    if dep["state"] != "queued":
        return True
    job = store.ddb.get_item(
        TableName=store.table, Key=to_item({"PK": f"JOB#{dep['job_id']}", "SK": "META"})
    ).get("Item")
    if job is None or not JobStatus(from_item(job)["status"]).finished:
        return True
    cancel_unstarted(store, deployment_id)
    return False


class _RedactSecrets(logging.Filter):
    """Blanks botocore's DEBUG dumps of Secrets Manager request/response bodies."""

    MARKERS = ("SecretString",)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        if any(m in text for m in self.MARKERS):
            record.msg = "(secretsmanager request or response omitted)"
            record.args = ()
        return True


_REDACT = _RedactSecrets()
_BOTO_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.httpsession")


def install_log_redaction() -> None:
    for name in _BOTO_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


install_log_redaction()
