"""Answering botocore requests in this thread through moto's WSGI app, without a socket:
used by `kiln dev` for its own clients and by compaction to read the live state.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config

from kiln.local.emulator.requests import JournalRecord, _call, _environ_for, _record_from_prepared

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


log = logging.getLogger("kiln.local.emulator")


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
