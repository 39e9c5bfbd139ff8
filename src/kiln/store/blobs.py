"""Content-addressed project files in S3: `projects/{pid}/blobs/{sha256}`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from kiln.errors import KilnError
from kiln.models import FileEntry
from kiln.store.db import Store

_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="blobs")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def blob_key(project_id: str, digest: str) -> str:
    return f"projects/{project_id}/blobs/{digest}"


def put_files(
    store: Store,
    project_id: str,
    files: Mapping[str, str],
    known: Mapping[str, FileEntry] | None = None,
) -> dict[str, FileEntry]:
    """Upload the files whose content is not already stored; return the manifest."""
    manifest: dict[str, FileEntry] = {}
    present = {e.sha256 for e in (known or {}).values()}
    uploads: dict[str, bytes] = {}
    for path, content in files.items():
        data = content.encode()
        digest = sha256(data)
        manifest[path] = FileEntry(sha256=digest, size=len(data))
        if digest not in present:
            uploads[digest] = data

    def upload(item: tuple[str, bytes]) -> None:
        digest, data = item
        store.s3.put_object(
            Bucket=store.bucket,
            Key=blob_key(project_id, digest),
            Body=data,
            ContentType="text/plain; charset=utf-8",
        )

    list(_POOL.map(upload, uploads.items()))
    return dict(sorted(manifest.items()))


def get_files(store: Store, project_id: str, manifest: Mapping[str, FileEntry]) -> dict[str, str]:
    """Read every file of a manifest; a missing blob is an integrity error, never skipped."""

    def fetch(item: tuple[str, FileEntry]) -> tuple[str, str]:
        path, entry = item
        try:
            obj = store.s3.get_object(Bucket=store.bucket, Key=blob_key(project_id, entry.sha256))
        except store.s3.exceptions.NoSuchKey as exc:
            raise KilnError(f"stored file {path} is missing", code="integrity_error") from exc
        return path, obj["Body"].read().decode()

    return dict(_POOL.map(fetch, manifest.items()))
