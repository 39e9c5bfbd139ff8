"""AWS clients and DynamoDB item conversion shared by the store modules.

Single-table keys (see infra/template.yaml): PK/SK, GSI1 owner -> projects,
GSI2 a sparse index of active jobs and due schedules, TTL on `expires_at`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from kiln.config import Settings, get_settings

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values (floats become Decimals, None is dropped)."""
    return {k: _ser.serialize(_dynamo_value(v)) for k, v in values.items() if v is not None}


def to_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_dynamo_value(v)) for k, v in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def _dynamo_value(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, dict):
        return {k: _dynamo_value(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_dynamo_value(x) for x in v]
    return v


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | set):
        return [_plain(x) for x in v]
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    return v


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> float:
    return time.time()


def iso(ts: float) -> str:
    """An epoch time as the ISO-8601 UTC text the API returns (`2026-01-02T03:04:05Z`)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sort_key(ts: float) -> str:
    """An epoch time as a GSI2 sort key: fixed width, so text order is time order."""
    return f"{ts:017.3f}"


_session_lock = threading.Lock()


@functools.cache
def _session(key: str | None = None, secret: str | None = None) -> boto3.session.Session:
    """One boto3 session per process and keys: a client from it takes milliseconds, from a
    fresh session ~0.1 s of CPU (each session parses the service models again)."""
    if key is None:
        return boto3.session.Session()
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret)


def is_conditional_failure(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return bool(code == "ConditionalCheckFailedException")


class ConditionFailed(Exception):
    """A conditional write found the item in another state. `old` is the item as it was,
    when the write asked for it (`ReturnValuesOnConditionCheckFailure="ALL_OLD"`)."""

    def __init__(self, old: dict[str, Any] | None) -> None:
        super().__init__("the item is not in the state the write expects")
        self.old = old


@contextmanager
def conditional() -> Iterator[None]:
    """The one place DynamoDB's ConditionalCheckFailedException is read: it becomes
    `ConditionFailed`; every other error passes through."""
    try:
        yield
    except ClientError as exc:
        if not is_conditional_failure(exc):
            raise
        old: dict[str, Any] | None = getattr(exc, "response", {}).get("Item")
        raise ConditionFailed(from_item(old) if old else None) from exc


def write_if(
    call: Callable[..., Any], /, *, otherwise: Exception | None = None, **request: Any
) -> dict[str, Any] | None:
    """One conditional write (`put_item`, `update_item`, ...). When its condition does not
    hold: raise `otherwise` (a domain error) if given, else return None."""
    try:
        with conditional():
            return dict(call(**request))
    except ConditionFailed as failed:
        if otherwise is not None:
            raise otherwise from failed
        return None


def aws_session(settings: Settings) -> boto3.session.Session:
    """A boto3 session with the settings' keys (kiln dev's emulator), else the default chain."""
    key, secret = settings.aws_access_key_id, settings.aws_secret_access_key
    if key is None:
        return _session()
    return _session(key.get_secret_value(), secret.get_secret_value() if secret else "kiln-dev")


@dataclass
class Store:
    """The table, bucket and queues of one deployment; clients are built lazily."""

    settings: Settings = field(default_factory=get_settings)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def table(self) -> str:
        return self.settings.table_name

    @property
    def bucket(self) -> str:
        return self.settings.bucket

    def client(self, service: str) -> Any:
        if service not in self._clients:
            with _session_lock:  # a session is not thread-safe; its clients are
                self._clients[service] = aws_session(self.settings).client(
                    service,  # type: ignore[call-overload]
                    region_name=self.settings.aws_region,
                    endpoint_url=self.settings.aws_endpoint_url,
                    config=Config(
                        retries={"max_attempts": 4, "mode": "standard"},
                        max_pool_connections=50,
                        connect_timeout=5,
                        read_timeout=30,
                        signature_version="s3v4" if service == "s3" else None,
                    ),
                )
        return self._clients[service]

    @property
    def ddb(self) -> Any:
        return self.client("dynamodb")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")
