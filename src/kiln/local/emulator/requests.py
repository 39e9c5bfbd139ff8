"""One request as the journal keeps it: captured from the HTTP server (a WSGI environ)
or from a botocore client, and applied again to moto's WSGI app in process.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from botocore.awsrequest import AWSPreparedRequest
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    EnvironHeaders,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from pydantic import BaseModel
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wsgi import get_input_stream

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment


log = logging.getLogger("kiln.local.emulator")

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


def _signing_scope(environ: WSGIEnvironment) -> tuple[str, str, str] | None:
    """(access key, region, service) from a SigV4 header or presigned query."""
    text = environ.get("HTTP_AUTHORIZATION") or unquote(environ.get("QUERY_STRING", ""))
    match = _CREDENTIAL.search(text)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def _action(headers: Iterable[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "x-amz-target":
            return value.rpartition(".")[2]
    return ""


def _header(record: JournalRecord, name: str) -> str:
    return next((v for k, v in record.headers if k.lower() == name), "")


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
