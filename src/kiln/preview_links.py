"""Expiring preview links: a green version's built `dist/` copied to `previews/<token>/` in
kiln's bucket, readable by anyone holding the unguessable 128-bit token until it expires.

State: `PREVIEW#<token>/META` (project, version, owner, `expiry` epoch s; in the sparse
GSI2 partition `PREVIEWS` keyed by expiry until swept; DynamoDB TTL removes the item 30
days after expiry, so an expired link answers 410 rather than 404 for that long) and the
objects under `previews/<token>/`, each with an `x-amz-meta-kiln-expires-at` header, next
to a `.kiln-expires` marker. Their HTML documents carry the storage shim
(`kiln.storage_shim`): the sandbox takes storage away, the shim gives the app what the
editor's preview gave it.

Locally `GET /api/previews/<token>/<path>` serves the objects and answers 410
`preview_expired` after expiry; a sweeper on the tick deletes expired objects. On AWS,
with `KILN_PREVIEW_BASE_URL` set to the CloudFront origin, links point at CloudFront's
`/previews/*` behaviour, and the bucket's lifecycle rule deletes the objects (CloudFront
cannot answer 410 by itself: links through the API route do).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from kiln.errors import Conflict, Gone, NotFound, Unprocessable
from kiln.gate.builder import build_version
from kiln.mime import content_type
from kiln.models import BuildState, PreviewLink
from kiln.storage_shim import with_storage_shim
from kiln.store import blobs, builds, projects
from kiln.store.db import Store, from_item, iso, now, sort_key, to_item, to_values

__all__ = ["MARKER", "create_preview", "open_preview", "preview_prefix", "sweep_expired"]

PARTITION = "PREVIEWS"
MARKER = ".kiln-expires"
_KEEP_GONE_S = 30 * 86400


def preview_prefix(token: str) -> str:
    return f"previews/{token}/"


def _key(token: str) -> dict[str, Any]:
    return to_item({"PK": f"PREVIEW#{token}", "SK": "META"})


def create_preview(
    store: Store,
    owner: str,
    project_id: str,
    number: int,
    *,
    ttl_hours: float | None = None,
    clock: Callable[[], float] = now,
) -> PreviewLink:
    """Copy the version's green build to a fresh token; build it first if it never was."""
    settings = store.settings
    hours = settings.preview_ttl_hours if ttl_hours is None else ttl_hours
    if hours > settings.preview_max_ttl_hours:
        raise Unprocessable(
            f"a preview link lives at most {settings.preview_max_ttl_hours} hours",
            code="ttl_too_long",
        )
    project = projects.get_project(store, project_id, owner)
    version = projects.get_version_item(store, project_id, number)
    if version.get("build") == BuildState.red.value:
        raise Conflict(
            f"version {number} does not build; share a green version "
            f"(last green: {project.get('last_green_version') or 'none'})",
            code="version_red",
        )
    token = secrets.token_urlsafe(16)
    expiry = clock() + hours * 3600
    source = _dist(store, project, number, version)
    _copy(store, source, token, iso(expiry))
    store.ddb.put_item(
        TableName=store.table,
        Item=to_item(
            {
                "PK": f"PREVIEW#{token}",
                "SK": "META",
                "project_id": project_id,
                "version": number,
                "owner": owner,
                "expiry": expiry,
                "expires_at": int(expiry) + _KEEP_GONE_S,
                "GSI2PK": PARTITION,
                "GSI2SK": sort_key(expiry),
            }
        ),
    )
    base = settings.preview_base_url.rstrip("/")
    url = f"{base}/{preview_prefix(token)}index.html" if base else f"/api/{preview_prefix(token)}"
    return PreviewLink(url=url, token=token, expires_at=iso(expiry))


def _dist(
    store: Store, project: dict[str, Any], number: int, version: dict[str, Any]
) -> dict[str, bytes] | str:
    """The stored build's S3 prefix, or the files of a fresh build (gate off or not run)."""
    pid = project["project_id"]
    if builds.dist_paths(store, pid, number):
        return builds.dist_prefix(pid, number)
    files = blobs.get_files(store, pid, projects.manifest_of(version))
    result = build_version(store, files, framework=project["framework"], base="./").result
    if not result.ok:
        first = result.errors[0].message if result.errors else "the build failed"
        raise Conflict(f"version {number} could not be built: {first}", code="build_failed")
    builds.save_dist(store, pid, number, result.dist)
    return result.dist


def _copy(store: Store, source: dict[str, bytes] | str, token: str, expires: str) -> None:
    target = preview_prefix(token)
    meta = {"kiln-expires-at": expires}

    def put(item: tuple[str, bytes]) -> None:
        path, data = item
        if path.endswith((".html", ".htm")):
            data = with_storage_shim(data)
        store.s3.put_object(
            Bucket=store.bucket,
            Key=target + path,
            Body=data,
            ContentType=content_type(path),
            Metadata=meta,
        )

    def copy(key: str) -> None:
        path = key.removeprefix(str(source))
        if path.endswith((".html", ".htm")):
            put((path, store.s3.get_object(Bucket=store.bucket, Key=key)["Body"].read()))
            return
        store.s3.copy_object(
            Bucket=store.bucket,
            Key=target + path,
            CopySource={"Bucket": store.bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType=content_type(path),
            Metadata=meta,
        )

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="preview") as pool:
        if isinstance(source, str):
            keys = [source + p for p in _list(store, source)]
            list(pool.map(copy, keys))
        else:
            list(pool.map(put, source.items()))
    put((MARKER, expires.encode()))


def _list(store: Store, prefix: str) -> list[str]:
    out: list[str] = []
    for page in store.s3.get_paginator("list_objects_v2").paginate(
        Bucket=store.bucket, Prefix=prefix
    ):
        out += [str(o["Key"]).removeprefix(prefix) for o in page.get("Contents", [])]
    return out


def open_preview(
    store: Store, token: str, path: str, *, clock: Callable[[], float] = now
) -> tuple[bytes, str]:
    """(body, content type) of one file of a live preview; 410 once it expired. A path
    without a file extension that is not there falls back to index.html (SPA routes)."""
    resp = store.ddb.get_item(TableName=store.table, Key=_key(token), ConsistentRead=True)
    if "Item" not in resp:
        raise NotFound("preview not found")
    item = from_item(resp["Item"])
    if float(item["expiry"]) <= clock():
        raise Gone(
            f"this preview link expired at {iso(float(item['expiry']))}", code="preview_expired"
        )
    rel = PurePosixPath(path.strip("/") or "index.html")
    if ".." in rel.parts or rel.name == MARKER:
        raise NotFound("file not found")
    for candidate in (rel.as_posix(), "index.html"):
        try:
            obj = store.s3.get_object(Bucket=store.bucket, Key=preview_prefix(token) + candidate)
        except store.s3.exceptions.NoSuchKey:
            if rel.suffix:
                break
            continue
        return obj["Body"].read(), str(obj.get("ContentType") or content_type(candidate))
    raise NotFound("file not found")


def sweep_expired(store: Store, *, clock: Callable[[], float] = now, limit: int = 50) -> int:
    """Delete the objects of expired previews (the local stand-in for the lifecycle rule);
    the item stays, without its GSI2 keys, so the link keeps answering 410."""
    resp = store.ddb.query(
        TableName=store.table,
        IndexName="GSI2",
        KeyConditionExpression="GSI2PK = :p AND GSI2SK <= :t",
        ExpressionAttributeValues=to_item({":p": PARTITION, ":t": sort_key(clock())}),
        Limit=limit,
    )
    swept = 0
    for raw in resp.get("Items", []):
        token = str(from_item(raw)["PK"]).removeprefix("PREVIEW#")
        prefix = preview_prefix(token)
        keys = [prefix + p for p in _list(store, prefix)]
        for start in range(0, len(keys), 1000):
            store.s3.delete_objects(
                Bucket=store.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
            )
        store.ddb.update_item(
            TableName=store.table,
            Key=_key(token),
            UpdateExpression="SET swept = :y REMOVE GSI2PK, GSI2SK",
            ExpressionAttributeValues=to_values({":y": True}),
        )
        swept += 1
    return swept
