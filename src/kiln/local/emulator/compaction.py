"""Restoring state on start: replay the journal through moto in process, then, once it
has grown enough, compact it. Structural requests (tables, buckets, their settings,
secrets) are kept verbatim; item and object writes become one write per live item.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.local.emulator.journal import (
    JOURNAL_NAME,
    _Journal,
    _truncate,
    _write_atomically,
    read_journal,
)
from kiln.local.emulator.requests import (
    JournalRecord,
    _action,
    _call,
    _environ_for,
    _header,
    _minted_ids,
    _remap_ids,
    _signing_scope,
)
from kiln.local.emulator.transport import _client

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


log = logging.getLogger("kiln.local.emulator")

COMPACTED_MARKER = "journal.compacted"  # size of the journal right after its last compaction
DEFAULT_COMPACT_AFTER_BYTES = 4 << 20
# Item writes: compaction replaces them by one write per live item.
DYNAMODB_DATA_ACTIONS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
# Requests that replace one whole setting of a table: only the last one counts.
DYNAMODB_SETTING_ACTIONS = frozenset({"UpdateTimeToLive", "UpdateContinuousBackups"})
BATCH_WRITE_MAX = 25


@dataclass
class ReplayStats:
    records: int = 0
    failed: int = 0
    torn_tail: bool = False
    replay_s: float = 0.0
    compacted_records: int = 0
    compact_s: float = 0.0
    bytes_before: int = 0
    bytes_after: int = 0


def _is_data(record: JournalRecord) -> bool:
    """Item and object writes, which compaction rebuilds from the live state."""
    if record.service == "dynamodb":
        return _action(record.headers) in DYNAMODB_DATA_ACTIONS
    if record.service == "s3":
        _bucket, _, key = record.path.lstrip("/").partition("/")
        params = {p.partition("=")[0] for p in record.query.split("&")}
        return bool(key) or "delete" in params
    return False


def _is_reset(record: JournalRecord) -> bool:
    return record.service == "moto_api"


def _resource(record: JournalRecord) -> tuple[str, ...]:
    if record.service == "s3":
        return ("s3", record.path.strip("/"))
    scope = _signing_scope({"HTTP_AUTHORIZATION": _header(record, "authorization")})
    try:
        table = str(json.loads(record.body_bytes()).get("TableName", ""))
    except ValueError:
        table = ""
    # by region only: the access key changes every run, and moto keeps every key's
    # resources in one account
    return (record.service, *(scope[1:2] if scope else ()), table)


def _setting(record: JournalRecord) -> tuple[tuple[str, ...], str] | None:
    """(resource, what) for requests that replace one whole setting of a table or bucket."""
    if record.service == "s3" and record.method == "PUT" and "/" not in record.path.strip("/"):
        return _resource(record), record.query  # CreateBucket, ?versioning, ?lifecycle, ...
    action = _action(record.headers)
    if record.service == "dynamodb" and action in DYNAMODB_SETTING_ACTIONS:
        return _resource(record), action
    return None


def _ends_resource(record: JournalRecord) -> bool:
    if record.service == "s3":
        return record.method == "DELETE" and not record.query and "/" not in record.path.strip("/")
    return record.service == "dynamodb" and _action(record.headers) == "DeleteTable"


def _without_superseded(records: list[JournalRecord]) -> list[JournalRecord]:
    """Drop a setting request when the same setting is made again later on the same resource.

    `kiln dev` re-applies the template's settings on every start; without this the
    journal would grow by a few records per restart forever.
    """
    kept: list[JournalRecord] = []
    later: set[tuple[tuple[str, ...], str]] = set()
    for record in reversed(records):
        if _ends_resource(record):
            gone = _resource(record)
            later = {s for s in later if s[0] != gone}
        setting = _setting(record)
        if setting is not None:
            if setting in later:
                continue
            later.add(setting)
        kept.append(record)
    kept.reverse()
    return kept


def replay(app: WSGIApplication, records: Iterable[JournalRecord]) -> tuple[int, int]:
    """Apply records in journal order; returns (applied, failed)."""
    id_map: dict[str, str] = {}
    applied = failed = 0
    for original in records:
        record = _remap_ids(original, id_map)
        status, headers, body = _call(app, _environ_for(record))
        applied += 1
        if not 200 <= status < 300:
            failed += 1
            log.warning("replay: %s %s answered %s", record.method, record.path, status)
            continue
        for key, new in _minted_ids(record, headers, body).items():
            if key in original.ids:
                id_map[original.ids[key]] = new
    return applied, failed


def _scopes(records: Iterable[JournalRecord], service: str) -> list[tuple[str, str]]:
    """Distinct (access key, region) pairs that wrote to a service."""
    seen: dict[tuple[str, str], None] = {}
    for record in records:
        if record.service != service:
            continue
        environ = {
            "HTTP_AUTHORIZATION": _header(record, "authorization"),
            "QUERY_STRING": record.query,
        }
        scope = _signing_scope(environ)
        seen[(scope[0], scope[1]) if scope else ("testing", "us-east-1")] = None
    return list(seen)


def _snapshot_tables(
    app: WSGIApplication, scopes: list[tuple[str, str]]
) -> Iterator[JournalRecord]:
    seen_arns: set[str] = set()
    for access_key, region in scopes:
        reader = _client(app, "dynamodb", access_key, region)
        out: list[JournalRecord] = []
        writer = _client(app, "dynamodb", access_key, region, capture=out)
        for page in reader.get_paginator("list_tables").paginate():
            for table in page["TableNames"]:
                arn = reader.describe_table(TableName=table)["Table"]["TableArn"]
                if arn in seen_arns:
                    continue
                seen_arns.add(arn)
                batch: list[dict[str, Any]] = []
                for scan in reader.get_paginator("scan").paginate(
                    TableName=table, ConsistentRead=True
                ):
                    for item in scan["Items"]:
                        batch.append({"PutRequest": {"Item": item}})
                        if len(batch) == BATCH_WRITE_MAX:
                            writer.batch_write_item(RequestItems={table: batch})
                            batch = []
                            yield from out
                            out.clear()
                if batch:
                    writer.batch_write_item(RequestItems={table: batch})
                    yield from out
                    out.clear()


_OBJECT_FIELDS = (
    "ContentType",
    "ContentEncoding",
    "ContentDisposition",
    "ContentLanguage",
    "CacheControl",
    "Metadata",
)


def _snapshot_objects(
    app: WSGIApplication, scopes: list[tuple[str, str]]
) -> Iterator[JournalRecord]:
    seen_buckets: set[str] = set()
    for access_key, region in scopes:
        reader = _client(app, "s3", access_key, region)
        out: list[JournalRecord] = []
        writer = _client(app, "s3", access_key, region, capture=out)
        for bucket in reader.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if name in seen_buckets:
                continue
            seen_buckets.add(name)
            for page in reader.get_paginator("list_objects_v2").paginate(Bucket=name):
                for obj in page.get("Contents", []):
                    got = reader.get_object(Bucket=name, Key=obj["Key"])
                    extra = {k: got[k] for k in _OBJECT_FIELDS if got.get(k)}
                    writer.put_object(Bucket=name, Key=obj["Key"], Body=got["Body"].read(), **extra)
                    yield from out
                    out.clear()


def compact(app: WSGIApplication, records: list[JournalRecord]) -> Iterator[JournalRecord]:
    """The shortest journal that recreates the live state `records` led to.

    Structural requests stay verbatim and in order (they are few, and replaying
    them keeps every setting of a table or bucket without knowing its schema);
    item and object writes become one write per live item, after them.
    """
    last_reset = max((n for n, r in enumerate(records) if _is_reset(r)), default=-1)
    kept = records[last_reset + 1 :]
    yield from _without_superseded([r for r in kept if not _is_data(r)])
    yield from _snapshot_tables(app, _scopes(kept, "dynamodb"))
    yield from _snapshot_objects(app, _scopes(kept, "s3"))


# Data dirs whose state is already in this process's memory (moto's state is
# process-global): starting on one again must not replay it a second time.
_loaded: set[Path] = set()
_loaded_lock = threading.Lock()


def _restore(
    app: WSGIApplication, data_dir: Path, compact_after_bytes: int
) -> tuple[_Journal, ReplayStats | None]:
    path = data_dir / JOURNAL_NAME
    marker = data_dir / COMPACTED_MARKER
    with _loaded_lock:
        already = data_dir in _loaded
        _loaded.add(data_dir)
    if already or not path.exists():
        return _Journal(path), None
    stats = ReplayStats(bytes_before=path.stat().st_size)
    started = time.perf_counter()
    records, stats.torn_tail, valid_bytes = read_journal(path)
    stats.records, stats.failed = replay(app, records)
    stats.replay_s = time.perf_counter() - started
    compacted_bytes = int(marker.read_text()) if marker.exists() else 0
    if stats.bytes_before - compacted_bytes > compact_after_bytes:
        started = time.perf_counter()
        compacted = list(compact(app, records))
        stats.compacted_records = len(compacted)
        stats.bytes_after = _write_atomically(path, compacted)
        marker.write_text(str(stats.bytes_after))  # stale after a crash: compacts once more
        stats.compact_s = time.perf_counter() - started
    else:
        if stats.torn_tail:  # so the next append starts on a line of its own
            _truncate(path, valid_bytes)
        stats.compacted_records, stats.bytes_after = len(records), valid_bytes
    log.info(
        "emulator: replayed %d records (%d failed) in %.2fs; journal %d -> %d bytes in %.2fs",
        stats.records,
        stats.failed,
        stats.replay_s,
        stats.bytes_before,
        stats.bytes_after,
        stats.compact_s,
    )
    return _Journal(path), stats
