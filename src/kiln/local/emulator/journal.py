"""The request journal: every successful mutating request to DynamoDB, S3 and Secrets
Manager, appended as one JSON line and fsync'd (group commit) before its answer leaves.

Reads are neither journaled nor serialised; SQS is not journaled on purpose (see the
package docstring).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kiln.local.emulator.requests import (
    JournalRecord,
    _call,
    _minted_ids,
    _record_from_environ,
    _signing_scope,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


log = logging.getLogger("kiln.local.emulator")

JOURNAL_NAME = "journal.jsonl"
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


class JournalError(RuntimeError):
    """The journal is damaged somewhere other than a torn last line."""


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
