"""Built modules, content-addressed by (name, version, subpath, builder id): a module built
for one project serves every other. `dir` keeps them under <data_dir>/pkg (survives a
`kiln dev` restart); `s3` under s3://<bucket>/pkg/ (the packages function on AWS)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Entry:
    """A module to serve, or a failure that will not change (a build error, a missing file).
    `imports`: the bare specifiers a module leaves to the import map (built ahead locally)."""

    body: bytes
    content_type: str
    error: dict[str, Any] | None = None
    imports: tuple[str, ...] = ()


def cache_key(name: str, version: str, subpath: str, build_id: str) -> str:
    digest = hashlib.sha256(json.dumps([name, version, subpath, build_id]).encode()).hexdigest()
    return f"pkg/{name}@{version}/{digest[:40]}"


class ModuleCache(Protocol):
    def get(self, key: str) -> Entry | None: ...

    def put(self, key: str, entry: Entry) -> None: ...


def _meta(entry: Entry) -> str:
    return json.dumps(
        {"content_type": entry.content_type, "error": entry.error, "imports": entry.imports}
    )


class DirCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, key: str) -> Entry | None:
        body, meta = self.root / key, self.root / f"{key}.json"
        if not (body.is_file() and meta.is_file()):
            return None
        info = json.loads(meta.read_text())
        imports = tuple(info.get("imports") or ())
        return Entry(body.read_bytes(), info["content_type"], info.get("error"), imports)

    def put(self, key: str, entry: Entry) -> None:
        body = self.root / key
        body.parent.mkdir(parents=True, exist_ok=True)
        tmp = body.with_name(f"{body.name}.{uuid.uuid4().hex}.tmp")  # two builds may race
        tmp.write_bytes(entry.body)
        tmp.replace(body)
        meta = self.root / f"{key}.json"
        tmp_meta = meta.with_name(f"{meta.name}.{uuid.uuid4().hex}.tmp")
        tmp_meta.write_text(_meta(entry))
        tmp_meta.replace(meta)  # written last: marks it complete


class S3Cache:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def get(self, key: str) -> Entry | None:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        meta = json.loads(obj["Metadata"].get("kiln", "{}") or "{}")
        return Entry(obj["Body"].read(), obj["ContentType"], meta.get("error"))

    def put(self, key: str, entry: Entry) -> None:
        error = {"error": entry.error} if entry.error else {}
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=entry.body,
            ContentType=entry.content_type,
            CacheControl="public, max-age=31536000, immutable",
            Metadata={"kiln": json.dumps(error)},
        )
