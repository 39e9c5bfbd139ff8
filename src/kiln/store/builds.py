"""What the build gate writes: a version's build result, the project's `last_green_version`,
the one fix round per red version, and the refund of a failed fix round.

Every write is a single-item conditional update, so a build job delivered twice (or
requeued by the sweeper) records once, starts at most one fix and refunds at most once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kiln.mime import content_type
from kiln.store.db import Store, from_item, now_iso, to_item, to_values, write_if
from kiln.store.projects import version_sk


def _key(project_id: str, sk: str) -> dict[str, Any]:
    return to_item({"PK": f"PROJECT#{project_id}", "SK": sk})


def _update(
    store: Store,
    key: dict[str, Any],
    expr: str,
    values: dict[str, Any],
    cond: str,
    names: dict[str, str] | None = None,
) -> bool:
    """An update that answers False instead of raising when its condition does not hold."""
    extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
    written = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=key,
        UpdateExpression=expr,
        ConditionExpression=cond,
        ExpressionAttributeValues=to_values(values),
        **extra,
    )
    return written is not None


def set_build_job(
    store: Store, project_id: str, number: int, job_id: str, fix_of: int | None = None
) -> None:
    """Let the client find the version's build job (and, for a fix, the version it fixes)."""
    values: dict[str, Any] = {":j": job_id}
    expr = "SET build_job_id = :j"
    if fix_of is not None:
        expr += ", fix_of = :f"
        values[":f"] = fix_of
    _update(store, _key(project_id, version_sk(number)), expr, values, "attribute_exists(PK)")


def record_build(
    store: Store,
    project_id: str,
    number: int,
    *,
    state: str,
    errors: list[dict[str, Any]],
    health: dict[str, Any],
    seconds: float,
) -> None:
    _update(
        store,
        _key(project_id, version_sk(number)),
        "SET #b = :b, build_errors = :e, health = :h, build_seconds = :s, built_at = :t",
        {":b": state, ":e": errors, ":h": health, ":s": seconds, ":t": now_iso()},
        "attribute_exists(PK)",
        {"#b": "build"},
    )


def advance_last_green(store: Store, project_id: str, number: int) -> bool:
    """Move `last_green_version` forward to `number`; never backwards (builds finish out of
    order)."""
    return _update(
        store,
        _key(project_id, "META"),
        "SET last_green_version = :n",
        {":n": number},
        "attribute_exists(PK) AND "
        "(attribute_not_exists(last_green_version) OR last_green_version < :n)",
    )


def claim_fix(store: Store, project_id: str, number: int, fix_job_id: str) -> bool:
    """Record the version's one fix job; False when a fix was already started for it."""
    return _update(
        store,
        _key(project_id, version_sk(number)),
        "SET fix_job_id = :j",
        {":j": fix_job_id},
        "attribute_exists(PK) AND (attribute_not_exists(fix_job_id) OR fix_job_id = :j)",
    )


def refund_version(
    store: Store, project_id: str, number: int, cost_usd: float | None = None
) -> dict[str, Any] | None:
    """Mark the version `charged: false` and take its cost off the project's usage (the
    budget counter); the tokens move to `usage.uncharged_*`. `cost_usd` is the unrounded
    cost the generation added (the version's usage keeps it rounded). Returns the
    version's usage, or None when it was already refunded."""
    key = _key(project_id, version_sk(number))
    resp = write_if(
        store.ddb.update_item,
        TableName=store.table,
        Key=key,
        UpdateExpression="SET charged = :f",
        ConditionExpression="attribute_exists(PK) AND attribute_not_exists(charged)",
        ExpressionAttributeValues=to_values({":f": False}),
        ReturnValues="ALL_NEW",
    )
    if resp is None:
        return None
    item = from_item(resp["Attributes"])
    usage: dict[str, Any] = item.get("usage") or {}
    tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    cost = float(usage.get("cost_usd", 0.0)) if cost_usd is None else cost_usd
    store.ddb.update_item(
        TableName=store.table,
        Key=_key(project_id, "META"),
        UpdateExpression="ADD #u.cost_usd :neg, #u.uncharged_usd :c, "
        "#u.uncharged_input_tokens :i, #u.uncharged_output_tokens :o",
        ExpressionAttributeNames={"#u": "usage"},
        ExpressionAttributeValues=to_values(
            {":neg": -cost, ":c": cost, ":i": tokens_in, ":o": tokens_out}
        ),
    )
    if item.get("job_id"):
        _mark_turn_uncharged(store, project_id, str(item["job_id"]))
    return usage


def _mark_turn_uncharged(store: Store, project_id: str, job_id: str) -> None:
    """The chat turn of the job that made the version shows `charged: false` too."""
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :t)",
        FilterExpression="job_id = :j",
        ExpressionAttributeValues=to_item(
            {":pk": f"PROJECT#{project_id}", ":t": "TURN#", ":j": job_id}
        ),
        ProjectionExpression="SK",
    )
    for turn in resp.get("Items", []):
        sk = from_item(turn)["SK"]
        _update(
            store, _key(project_id, sk), "SET charged = :f", {":f": False}, "attribute_exists(PK)"
        )


# --- built files (S3), reused by preview links ----------------------------------------


def dist_prefix(project_id: str, number: int) -> str:
    return f"projects/{project_id}/dist/{number:06d}/"


def save_dist(store: Store, project_id: str, number: int, dist: dict[str, bytes]) -> None:
    """Keep a green build's output so a preview link copies it instead of building again."""
    prefix = dist_prefix(project_id, number)

    def upload(item: tuple[str, bytes]) -> None:
        path, data = item
        store.s3.put_object(
            Bucket=store.bucket, Key=prefix + path, Body=data, ContentType=content_type(path)
        )

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="dist") as pool:
        list(pool.map(upload, dist.items()))


def check_screenshot_key(project_id: str, number: int, index: int) -> str:
    return f"projects/{project_id}/checks/{number:06d}/{index}.png"


def save_check_screenshot(
    store: Store, project_id: str, number: int, index: int, png: bytes
) -> None:
    """The page as a failed check left it, next to the version's build."""
    store.s3.put_object(
        Bucket=store.bucket,
        Key=check_screenshot_key(project_id, number, index),
        Body=png,
        ContentType="image/png",
    )


def check_screenshot(store: Store, project_id: str, number: int, index: int) -> bytes | None:
    try:
        obj = store.s3.get_object(
            Bucket=store.bucket, Key=check_screenshot_key(project_id, number, index)
        )
    except store.s3.exceptions.NoSuchKey:
        return None
    return bytes(obj["Body"].read())


def dist_paths(store: Store, project_id: str, number: int) -> list[str]:
    """Paths of the stored build output of a version (empty when it was never built green)."""
    prefix = dist_prefix(project_id, number)
    paths: list[str] = []
    for page in store.s3.get_paginator("list_objects_v2").paginate(
        Bucket=store.bucket, Prefix=prefix
    ):
        paths += [str(o["Key"]).removeprefix(prefix) for o in page.get("Contents", [])]
    return paths


def gate_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The gate's attributes of a version item, as VersionSummary/VersionPublic take them."""
    out = {
        k: item[k]
        for k in ("health", "build_errors", "build_job_id", "fix_of", "fix_job_id", "charged")
        if item.get(k) is not None
    }
    return out
