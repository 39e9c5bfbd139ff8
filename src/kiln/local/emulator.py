"""The embedded AWS emulator behind `kiln dev`: moto's server plus a request journal.

moto keeps its state in process memory. To let projects, versions, jobs and
artifacts survive a restart -- also a `kill -9` -- every successful mutating
request to DynamoDB, S3 and Secrets Manager is appended to
`data_dir/journal.jsonl` and fsync'd before its answer leaves the process.
On start the journal is replayed through the same WSGI app (no sockets), then
compacted: structural requests (tables, buckets, their settings, secrets) are
kept verbatim and item/object writes are replaced by one write per live item.

SQS is not journaled on purpose: redelivering old messages after a restart
would repeat work; the job sweeper requeues jobs that were in flight instead.
Reads are neither journaled nor serialised.

`kiln dev` sends its own requests to the same WSGI app in process (`serve_in_process`),
as moto's in-process mode does; the HTTP endpoint serves everyone else, which on a
developer's machine includes every web page the browser has open. So the emulator serves
kiln only (`_KilnOnly`): no CORS headers, any request from a web page (an `Origin`
header, or `Sec-Fetch-Site: cross-site/same-site`) refused, and every request must be
signed with this run's random access key. moto checks no signatures and neither do we
fully: only the key named in the SigV4 `Credential=` is compared, which is enough to shut
out a page that does not know it (and a page never learns it: it is not served anywhere).

Two of moto's hot paths are replaced by faster equivalents held to moto's answers by
tests (`_speed_up_moto`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import inspect
import io
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.handlers import BUILTIN_HANDLERS
from moto import backends as moto_backends
from moto.core import responses as moto_responses
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    EnvironHeaders,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.core.responses import ActionContext, ActionResult
from moto.core.utils import method_names_from_class as _method_names_from_class
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from pydantic import BaseModel
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wsgi import get_input_stream

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "Emulator",
    "JournalContents",
    "JournalError",
    "JournalRecord",
    "ReplayStats",
    "read_journal",
    "start_emulator",
]

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"
COMPACTED_MARKER = "journal.compacted"  # size of the journal right after its last compaction
DEFAULT_COMPACT_AFTER_BYTES = 4 << 20
JOURNALED_SERVICES = frozenset({"dynamodb", "s3", "secretsmanager", "moto_api"})

# JSON-protocol actions that never change state; every other action is journaled,
# so an action moto learns later is kept rather than silently lost.
READ_ACTION_PREFIXES = (
    "Get",
    "BatchGet",
    "TransactGet",
    "Query",
    "Scan",
    "Describe",
    "List",
    "Validate",
)
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
# Request headers that describe the connection or the client, not the operation.
DROPPED_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "expect",
        "accept-encoding",
        "user-agent",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    }
)
# Ids moto mints at random; later requests name them, so replay maps old -> new.
MINTED_ID_PARAMS = ("uploadId", "versionId")
_UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
BATCH_WRITE_MAX = 25


class JournalError(RuntimeError):
    """The journal is damaged somewhere other than a torn last line."""


class JournalRecord(BaseModel):
    """One applied mutation, enough to send the identical request again."""

    service: str
    method: str
    path: str  # PATH_INFO as the server decoded it
    query: str = ""
    raw_uri: str  # as received; moto matches S3 keys against the undecoded form
    headers: list[tuple[str, str]]
    body: str = ""  # base64
    ids: dict[str, str] = {}  # ids minted by this request (uploadId, versionId)

    def body_bytes(self) -> bytes:
        return base64.b64decode(self.body)


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


@dataclass
class Emulator:
    """A running emulator; `endpoint_url` is what boto3 clients are pointed at."""

    endpoint_url: str
    data_dir: Path | None
    stats: ReplayStats | None
    access_key: str = field(repr=False)
    _server: BaseWSGIServer
    _thread: threading.Thread
    _journal: _Journal | None = field(default=None, repr=False)
    _in_process: tuple[str, Any] | None = field(default=None, repr=False)

    def serve_in_process(self) -> None:
        """Answer this process's boto3 requests to `endpoint_url` without the socket.

        moto's own in-process mode does the same: botocore builds, signs and parses every
        request as usual, and a `before-send` handler hands it to the emulator's WSGI app
        (journal included) in the calling thread instead of the HTTP server. That halves
        the cost of a request here (the HTTP client and server were half of it), which is
        what one `kiln dev` process on a small machine spends most of its time on. Other
        processes, presigned URLs and clients of boto3 sessions made before this call still
        use the HTTP endpoint (botocore copies its built-in handlers into each new session)."""
        if self._in_process is not None:
            return
        prefix = self.endpoint_url + "/"
        app = self._server.app

        def send(request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
            if not request.url.startswith(prefix):
                return None
            return _answer(app, event_name.split(".")[1], request)

        self._in_process = ("before-send", send)
        BUILTIN_HANDLERS.append(self._in_process)

    def stop(self) -> None:
        if self._in_process is not None:
            BUILTIN_HANDLERS.remove(self._in_process)
            self._in_process = None
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        if self._journal is not None:
            self._journal.close()


# --- request classification ----------------------------------------------------------


def _signing_scope(environ: WSGIEnvironment) -> tuple[str, str, str] | None:
    """(access key, region, service) from a SigV4 header or presigned query."""
    text = environ.get("HTTP_AUTHORIZATION") or unquote(environ.get("QUERY_STRING", ""))
    match = _CREDENTIAL.search(text)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def _service(environ: WSGIEnvironment) -> str:
    """The backend moto will route to, decided the way moto decides for these services."""
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return "moto_api"
    scope = _signing_scope(environ)
    if scope is not None:
        return scope[2].lower()
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB"):
        return "dynamodb"
    if target.startswith("secretsmanager."):
        return "secretsmanager"
    return "s3"  # moto's default for unsigned requests


def _action(headers: Iterable[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "x-amz-target":
            return value.rpartition(".")[2]
    return ""


def _is_mutation(environ: WSGIEnvironment, service: str) -> bool:
    method: str = environ.get("REQUEST_METHOD", "GET")
    if service == "s3":
        return method in ("PUT", "POST", "DELETE")
    if service in ("dynamodb", "secretsmanager"):
        action: str = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        return bool(action) and not action.startswith(READ_ACTION_PREFIXES)
    if service == "moto_api":
        path: str = environ.get("PATH_INFO", "")
        return method == "POST" and path.startswith("/moto-api/reset")
    return False


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


def _header(record: JournalRecord, name: str) -> str:
    return next((v for k, v in record.headers if k.lower() == name), "")


# --- applying requests in process ------------------------------------------------------


def _environ_for(record: JournalRecord) -> WSGIEnvironment:
    headers = [(k, v) for k, v in record.headers if k.lower() not in DROPPED_HEADERS]
    environ = EnvironBuilder(
        method=record.method, headers=headers, data=record.body_bytes()
    ).get_environ()
    environ["PATH_INFO"] = record.path
    environ["QUERY_STRING"] = record.query
    environ["RAW_URI"] = environ["REQUEST_URI"] = record.raw_uri
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
        environ_key_for_header(k): k for k, _ in headers if should_preserve_original_header_name(k)
    }
    return environ


def _call(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[int, list[tuple[str, str]], bytes]:
    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return int(status.split(" ", 1)[0]), list(headers.items()), body


def _minted_ids(
    record: JournalRecord, headers: list[tuple[str, str]], body: bytes
) -> dict[str, str]:
    if record.service != "s3":
        return {}
    ids: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == "x-amz-version-id" and value != "null":
            ids["versionId"] = value
    if record.method == "POST" and "uploads" in record.query.split("&"):
        match = _UPLOAD_ID.search(body)
        if match:
            ids["uploadId"] = match.group(1).decode()
    return ids


def _remap_ids(record: JournalRecord, id_map: dict[str, str]) -> JournalRecord:
    """Rewrite ids minted in an earlier life to the ones minted by this replay."""
    if not id_map or record.service != "s3":
        return record
    parts = []
    for part in record.query.split("&") if record.query else []:
        key, eq, value = part.partition("=")
        old = unquote(value)
        if eq and key in MINTED_ID_PARAMS and old in id_map:
            part = f"{key}={quote(id_map[old], safe='')}"
        parts.append(part)
    query = "&".join(parts)
    headers = []
    for name, value in record.headers:
        if name.lower() == "x-amz-copy-source" and "versionId=" in value:
            src, _, old = value.partition("versionId=")
            value = f"{src}versionId={id_map.get(old, old)}"
        headers.append((name, value))
    raw_path = record.raw_uri.split("?", 1)[0]
    return record.model_copy(
        update={
            "query": query,
            "raw_uri": f"{raw_path}?{query}" if query else raw_path,
            "headers": headers,
        }
    )


# --- the journal -----------------------------------------------------------------------


class _Journal:
    """Append-only JSON lines with group commit: `write` appends (under the caller's lock,
    so the order is the applied order) and `sync` makes everything up to an offset durable;
    one fsync covers every writer that is waiting, instead of one fsync per write in turn."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("ab")
        if self._file.tell() and _last_byte(path) != b"\n":
            self._file.write(b"\n")  # a whole record whose newline a crash cut off
        self._written = self._file.tell()
        self._synced = 0
        self._sync_lock = threading.Lock()

    def write(self, record: JournalRecord) -> int:
        self._file.write(record.model_dump_json().encode() + b"\n")
        self._file.flush()
        self._written = self._file.tell()
        return self._written

    def sync(self, upto: int) -> None:
        with self._sync_lock:
            if self._synced >= upto:
                return
            target = self._written
            os.fsync(self._file.fileno())
            self._synced = target

    def close(self) -> None:
        self._file.close()


class JournalContents(NamedTuple):
    records: list[JournalRecord]
    torn_tail: bool  # a last line cut short by kill -9 was skipped
    valid_bytes: int  # length of the readable prefix


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def read_journal(path: Path) -> JournalContents:
    """Every record; an unreadable last line is a torn write, anywhere else it is damage."""
    records: list[JournalRecord] = []
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    valid = 0
    for n, line in enumerate(lines):
        try:
            records.append(JournalRecord.model_validate_json(line))
        except ValueError as exc:
            if n == len(lines) - 1:
                log.warning("journal %s: skipped a torn last line", path)
                return JournalContents(records, True, valid)
            raise JournalError(f"{path}: line {n + 1} is unreadable") from exc
        valid += len(line) + 1
    return JournalContents(records, False, min(valid, len(data)))


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)
        f.flush()
        os.fsync(f.fileno())


def _write_atomically(path: Path, records: Iterable[JournalRecord]) -> int:
    tmp = path.with_suffix(".new")
    with tmp.open("wb") as f:
        for record in records:
            f.write(record.model_dump_json().encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path.stat().st_size


class _JournalingApp:
    """WSGI middleware: apply each mutation and journal it under one lock."""

    def __init__(self, app: WSGIApplication, journal: _Journal) -> None:
        self.app = app
        self.journal = journal
        self.lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        service = _service(environ)
        if service not in JOURNALED_SERVICES or not _is_mutation(environ, service):
            return self.app(environ, start_response)
        record = _record_from_environ(environ, service)
        offset = 0
        with self.lock:
            status, headers, body = _call(self.app, environ)
            if 200 <= status < 300:
                record.ids = _minted_ids(record, headers, body)
                offset = self.journal.write(record)
        if offset:
            self.journal.sync(offset)  # durable before the answer leaves
        start_response(f"{status} {_reason(status)}", headers)
        return [body]


def _reason(status: int) -> str:
    from http import HTTPStatus

    with contextlib.suppress(ValueError):
        return HTTPStatus(status).phrase
    return ""


def _record_from_environ(environ: WSGIEnvironment, service: str) -> JournalRecord:
    """Capture the request, buffering its (de-chunked) body so moto can still read it."""
    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    headers = [
        (name, value)
        for name, value in EnvironHeaders(environ)
        if name.lower() not in DROPPED_HEADERS
    ]
    return JournalRecord(
        service=service,
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO", "/"),
        query=environ.get("QUERY_STRING", ""),
        raw_uri=environ.get("RAW_URI") or environ.get("PATH_INFO", "/"),
        headers=headers,
        body=base64.b64encode(body).decode(),
    )


def _record_from_prepared(service: str, request: AWSPreparedRequest) -> JournalRecord:
    url = urlsplit(request.url)
    raw_path = url.path or "/"
    body: Any = request.body
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes | bytearray):
        body = body.read()
    headers = [
        (str(k), v.decode() if isinstance(v, bytes) else str(v))
        for k, v in request.headers.items()
        if str(k).lower() not in DROPPED_HEADERS
    ]
    return JournalRecord(
        service=service,
        method=request.method,
        path=unquote_to_bytes(raw_path).decode("latin-1"),
        query=url.query,
        raw_uri=f"{raw_path}?{url.query}" if url.query else raw_path,
        headers=headers,
        body=base64.b64encode(bytes(body)).decode(),
    )


# --- replay and compaction -------------------------------------------------------------


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


def _client(
    app: WSGIApplication,
    service: str,
    access_key: str,
    region: str,
    capture: list[JournalRecord] | None = None,
) -> Any:
    """A boto3 client served by `app` in process; with `capture`, writes are only recorded."""
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key="kiln", region_name=region
    )
    client = session.client(  # type: ignore[call-overload]
        service,
        endpoint_url="http://127.0.0.1",
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )

    def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        if capture is None:
            return _answer(app, service, request)
        capture.append(_record_from_prepared(service, request))
        return _response(request, 200, [], b"{}" if service != "s3" else b"")

    client.meta.events.register("before-send", send)
    return client


def _answer(app: WSGIApplication, service: str, request: AWSPreparedRequest) -> AWSResponse:
    """`request` answered by `app` in this thread, as the HTTP server would answer it."""
    status, headers, body = _call(app, _environ_for(_record_from_prepared(service, request)))
    return _response(request, status, headers, body)


def _response(
    request: AWSPreparedRequest, status: int, headers: list[tuple[str, str]], body: bytes
) -> AWSResponse:
    http_headers = HTTPHeaders()
    for name, value in headers:
        http_headers[name] = value
    return AWSResponse(request.url, status, http_headers, _Raw(body))


class _Raw(io.BytesIO):
    """The urllib3-like body botocore reads a response from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


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


# --- the server ------------------------------------------------------------------------


_FROM_A_PAGE = frozenset({"cross-site", "same-site"})


class _KilnOnly:
    """WSGI middleware: the emulator answers kiln's signed requests, never a web page."""

    def __init__(self, app: WSGIApplication, access_key: str) -> None:
        self.app = app
        self.access_key = access_key.encode()

    def refusal(self, environ: WSGIEnvironment) -> str | None:
        from_a_page = environ.get("HTTP_SEC_FETCH_SITE", "").lower() in _FROM_A_PAGE
        if "HTTP_ORIGIN" in environ or from_a_page:
            return "requests from web pages are refused"
        scope = _signing_scope(environ)
        if scope is None or not secrets.compare_digest(scope[0].encode(), self.access_key):
            return "this emulator serves kiln only: sign with its access key"
        return None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = self.refusal(environ)
        if refusal is not None:
            body = json.dumps({"__type": "AccessDeniedException", "message": refusal}).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info)

        return self.app(environ, without_cors)


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


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


_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "TransactGetItems",
    }
)


def _base64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dump_dynamodb_result(
    self: ActionResult, context: ActionContext
) -> tuple[int, dict[str, Any], str | bytes]:
    """moto serialises every DynamoDB answer member by member against the service model,
    about half the time of a GetItem of a job item. For item operations its results are
    already the wire's JSON (attribute-value dicts), so they are dumped as they are, keeping
    only the output shape's members; bytes become base64, as moto writes them. The tour in
    tests/integration/test_emulator.py holds the two to the same answers. Table operations
    and errors keep moto's path."""
    result = self.result
    operation = context.operation_model
    if operation.name not in _ITEM_OPERATIONS or not isinstance(result, dict):
        return ActionResult.execute_result(self, context)
    members = operation.output_shape.members if operation.output_shape else {}
    body = json.dumps(
        {k: v for k, v in result.items() if v is not None and k in members},
        default=_base64,
        separators=(",", ":"),
    )
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


_list_moto_modules = moto_backends.list_of_moto_modules
_moto_query = Table.query
_moto_all_items = Table.all_items
_QUERY_SIGNATURE = inspect.signature(_moto_query)
_partition = threading.local()


def _query_partition(self: Table, *args: Any, **kwargs: Any) -> Any:
    """moto answers a table Query by sorting every item of the table and keeping the
    partition's, so each poll got slower as the table grew. A query of the table itself
    (not an index) now starts from its partition, cut to a string sort key's lower bound
    (events after N); moto sorts, compares and filters what is left as before."""
    call = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    if call.get("index_name") or not self.range_key_attr:
        return _moto_query(self, *args, **kwargs)
    bound = call.get("range_objs") or []
    lower = (
        bound[0].value
        if call.get("range_comparison") in (">", ">=", "BETWEEN") and bound[0].type == "S"
        else None
    )
    _partition.scope = (call["hash_key"], lower)
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        _partition.scope = None


def _partition_items(self: Table) -> list[Item]:
    scope = getattr(_partition, "scope", None)
    if scope is None:
        return _moto_all_items(self)
    key, lower = scope
    items = self.items.get(key, {}).values()
    if lower is None:
        return list(items)
    return [item for item in items if item.range_key.value >= lower]


@functools.cache
def _moto_modules() -> frozenset[str]:
    return frozenset(_list_moto_modules())


@functools.cache
def _method_names(clazz: object) -> list[str]:
    return _method_names_from_class(clazz)


def _speed_up_moto() -> None:
    """Local fixes to moto's hot paths, each held to moto's own answers by a test in
    tests/integration/test_emulator.py. Two are plain caches: moto lists its package
    directory (a stat per service) and inspects the handler class on every request."""
    DynamoResult.execute_result = _dump_dynamodb_result  # type: ignore[method-assign]
    Table.query = _query_partition  # type: ignore[method-assign]
    Table.all_items = _partition_items  # type: ignore[method-assign]
    moto_backends.list_of_moto_modules = _moto_modules
    moto_responses.method_names_from_class = _method_names  # type: ignore[attr-defined]


def start_emulator(
    data_dir: Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
    compact_after_bytes: int = DEFAULT_COMPACT_AFTER_BYTES,
    access_key: str | None = None,
) -> Emulator:
    """Serve moto on host:port (0 picks a free port); with `data_dir`, state persists.

    Every request must be signed with `access_key` (default: a random one for this run,
    `Emulator.access_key`); the secret key is not checked.

    The journal is compacted on start once it has grown by `compact_after_bytes`
    since its last compaction (0: whenever it grew), so an unchanged restart does
    not pay for a compaction.
    """
    _speed_up_moto()
    moto_app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
    app: WSGIApplication = moto_app
    journal: _Journal | None = None
    stats: ReplayStats | None = None
    if data_dir is not None:
        data_dir = data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        journal, stats = _restore(moto_app, data_dir, compact_after_bytes)
        app = _JournalingApp(moto_app, journal)
    access_key = access_key or "KILN" + secrets.token_hex(16).upper()
    app = _KilnOnly(app, access_key)
    handler = _QuietHandler if quiet else MotoRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name="kiln-emulator", daemon=True)
    thread.start()
    return Emulator(
        endpoint_url=f"http://{host}:{server.port}",
        data_dir=data_dir,
        stats=stats,
        access_key=access_key,
        _server=server,
        _thread=thread,
        _journal=journal,
    )
