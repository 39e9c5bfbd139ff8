"""Projects (`PROJECT#pid/META`) and their versions (`PROJECT#pid/VERSION#000042`).

A version item is written once, complete, with a conditional put; the project's
`latest_version` pointer only moves forward. The version items are the truth: a
pointer that lags after a crash is repaired by the next write.
"""

from __future__ import annotations

import secrets
from typing import Any

from kiln.errors import Conflict, NotFound
from kiln.models import BuildState, FileEntry, Framework
from kiln.store.db import (
    ConditionFailed,
    Store,
    conditional,
    from_item,
    now_iso,
    to_item,
    to_values,
    write_if,
)


def new_id(prefix: str) -> str:
    """128 random bits, URL-safe."""
    return prefix + secrets.token_hex(16)


def _key(pid: str, sk: str = "META") -> dict[str, Any]:
    return to_item({"PK": f"PROJECT#{pid}", "SK": sk})


def version_sk(n: int) -> str:
    return f"VERSION#{n:06d}"


def create_project(
    store: Store, *, owner: str, name: str, framework: Framework, project_id: str | None = None
) -> dict[str, Any]:
    ts = now_iso()
    project = {
        "PK": f"PROJECT#{project_id or new_id('p_')}",
        "SK": "META",
        "owner": owner,
        "name": name[:120] or "Untitled",
        "framework": framework.value,
        "latest_version": 0,
        "created_at": ts,
        "updated_at": ts,
        "GSI1PK": f"OWNER#{owner}",
        "GSI1SK": ts,
        "usage": {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0},
    }
    store.ddb.put_item(
        TableName=store.table,
        Item=to_item(project),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return _public(project)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("PK", "SK", "GSI1PK", "GSI1SK")}
    out["project_id"] = str(item["PK"]).removeprefix("PROJECT#")
    return out


def get_project(store: Store, project_id: str, owner: str | None) -> dict[str, Any]:
    """The project if it exists and belongs to `owner` (None skips the check: workers)."""
    resp = store.ddb.get_item(TableName=store.table, Key=_key(project_id), ConsistentRead=True)
    item = from_item(resp["Item"]) if "Item" in resp else None
    if item is None or "deleted_at" in item or (owner is not None and item["owner"] != owner):
        raise NotFound("project not found")
    return _public(item)


def delete_project(store: Store, project_id: str) -> None:
    """Soft delete: the project leaves its owner's list and answers 404 from now on; its
    versions and files stay stored (a deleted project can be recovered by the operator)."""
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(project_id),
        UpdateExpression="SET deleted_at = :t REMOVE GSI1PK, GSI1SK",
        ConditionExpression="attribute_exists(PK) AND attribute_not_exists(deleted_at)",
        ExpressionAttributeValues=to_values({":t": now_iso()}),
        otherwise=NotFound("project not found"),
    )


def list_projects(store: Store, owner: str, limit: int = 100) -> list[dict[str, Any]]:
    resp = store.ddb.query(
        TableName=store.table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :o",
        ExpressionAttributeValues=to_item({":o": f"OWNER#{owner}"}),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [_public(from_item(i)) for i in resp.get("Items", [])]


def latest_version_number(store: Store, project_id: str) -> int:
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :v)",
        ExpressionAttributeValues=to_item({":pk": f"PROJECT#{project_id}", ":v": "VERSION#"}),
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
        ProjectionExpression="SK",
    )
    items = resp.get("Items", [])
    return int(from_item(items[0])["SK"].removeprefix("VERSION#")) if items else 0


def put_version(
    store: Store,
    project_id: str,
    number: int,
    *,
    manifest: dict[str, FileEntry],
    parent: int | None,
    prompt: str | None,
    job_id: str | None,
    build: BuildState | None = None,
    usage: dict[str, Any] | None = None,
    packages_error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write version `number` once; raise Conflict(version_conflict) if it exists. Without
    a gate no build will come, so the version says so instead of waiting for one."""
    if build is None:
        build = BuildState.unknown if store.settings.build_gate else BuildState.unchecked
    ts = now_iso()
    item = {
        "PK": f"PROJECT#{project_id}",
        "SK": version_sk(number),
        "version": number,
        "parent": parent,
        "prompt": prompt,
        "job_id": job_id,
        "build": build.value,
        "manifest": {p: e.model_dump() for p, e in manifest.items()},
        "created_at": ts,
        "usage": usage,
    }
    if packages_error:
        item["packages_error"] = packages_error
    try:
        with conditional():
            store.ddb.put_item(
                TableName=store.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(PK)",
            )
    except ConditionFailed as failed:
        current = latest_version_number(store, project_id)
        raise Conflict(
            f"version {number} already exists; the project is at version {current}",
            code="version_conflict",
            details={"current_version": current},
        ) from failed
    _advance_pointer(store, project_id, number, ts)
    return item


def _advance_pointer(store: Store, project_id: str, number: int, ts: str) -> None:
    write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(project_id),
        UpdateExpression="SET latest_version = :n, updated_at = :t, GSI1SK = :t",
        ConditionExpression="attribute_exists(PK) AND latest_version < :n",
        ExpressionAttributeValues=to_values({":n": number, ":t": ts}),
    )


def version_of_job(store: Store, project_id: str, job_id: str) -> int | None:
    """The version a job saved, if any: a retry of a job killed after saving finds it
    whatever its base was (newest first; a job's version is rarely far back)."""
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :v)",
        "FilterExpression": "job_id = :j",
        "ExpressionAttributeValues": to_item(
            {":pk": f"PROJECT#{project_id}", ":v": "VERSION#", ":j": job_id}
        ),
        "ProjectionExpression": "SK",
        "ScanIndexForward": False,
        "ConsistentRead": True,
    }
    while True:
        resp = store.ddb.query(**kwargs)
        for item in resp.get("Items", []):
            return int(from_item(item)["SK"].removeprefix("VERSION#"))
        if "LastEvaluatedKey" not in resp:
            return None
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def get_version_item(store: Store, project_id: str, number: int) -> dict[str, Any]:
    resp = store.ddb.get_item(
        TableName=store.table, Key=_key(project_id, version_sk(number)), ConsistentRead=True
    )
    if "Item" not in resp:
        raise NotFound(f"version {number} not found")
    return from_item(resp["Item"])


def list_versions(store: Store, project_id: str, limit: int = 200) -> list[dict[str, Any]]:
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :v)",
        ExpressionAttributeValues=to_item({":pk": f"PROJECT#{project_id}", ":v": "VERSION#"}),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [from_item(i) for i in resp.get("Items", [])]


def add_usage(
    store: Store, project_id: str, input_tokens: int, output_tokens: int, cost_usd: float
) -> None:
    store.ddb.update_item(
        TableName=store.table,
        Key=_key(project_id),
        UpdateExpression="ADD #u.input_tokens :i, #u.output_tokens :o, #u.cost_usd :c",
        ExpressionAttributeNames={"#u": "usage"},
        ExpressionAttributeValues=to_values(
            {":i": input_tokens, ":o": output_tokens, ":c": cost_usd}
        ),
    )


def manifest_of(item: dict[str, Any]) -> dict[str, FileEntry]:
    return {p: FileEntry(**e) for p, e in (item.get("manifest") or {}).items()}


def set_budget(store: Store, project_id: str, budget_usd: float | None) -> None:
    if budget_usd is None:
        store.ddb.update_item(
            TableName=store.table, Key=_key(project_id), UpdateExpression="REMOVE budget_usd"
        )
        return
    store.ddb.update_item(
        TableName=store.table,
        Key=_key(project_id),
        UpdateExpression="SET budget_usd = :b",
        ExpressionAttributeValues=to_values({":b": budget_usd}),
    )


def rename_project(store: Store, project_id: str, name: str, *, by_hand: bool = True) -> bool:
    """A name given by hand is kept: from then on the app's title no longer renames it (a
    rename after the title is refused in the same write, so one typed meanwhile wins)."""
    if by_hand:
        store.ddb.update_item(
            TableName=store.table,
            Key=_key(project_id),
            UpdateExpression="SET #n = :n, name_by_hand = :h",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues=to_values({":n": name[:120], ":h": True}),
        )
        return True
    written = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=_key(project_id),
        UpdateExpression="SET #n = :n",
        ConditionExpression="attribute_exists(PK) AND attribute_not_exists(name_by_hand)",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues=to_values({":n": name[:120]}),
    )
    return written is not None


def put_turn(
    store: Store, project_id: str, job: dict[str, Any], status: str, fields: dict[str, Any]
) -> None:
    """One chat turn (`PROJECT#pid/TURN#<created>#<job>`): prompt, plan, outcome, usage."""
    item = {
        "PK": f"PROJECT#{project_id}",
        "SK": f"TURN#{job.get('created_at', now_iso())}#{job['job_id']}",
        "job_id": job["job_id"],
        "prompt": job.get("prompt", ""),
        "status": status,
        "version": fields.get("version"),
        "plan": fields.get("plan"),
        "changed": fields.get("changed"),
        "usage": fields.get("usage"),
        "model": fields.get("model") or job.get("model"),
        "provider": job.get("provider"),
        "error_code": fields.get("error_code"),
        "error_message": fields.get("error_message"),
        "created_at": job.get("created_at"),
    }
    store.ddb.put_item(TableName=store.table, Item=to_item(item))


def list_turns(store: Store, project_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first."""
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :t)",
        ExpressionAttributeValues=to_item({":pk": f"PROJECT#{project_id}", ":t": "TURN#"}),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [from_item(i) for i in resp.get("Items", [])]
