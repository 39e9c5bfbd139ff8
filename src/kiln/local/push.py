"""Push on `kiln dev`: the WebSocket API's part, played by this process.

- `/push` accepts WebSockets and turns each handshake, message and close into the event
  API Gateway would send, for the same handler as on Lambda (`functions/push` `websocket`).
- `Connections` is the Management API: the handlers' `post_to_connection` (boto3, to
  `LOCAL_ENDPOINT`) is answered in process by sending on the open socket, or 410 Gone.
- `StreamPump` reads the emulator's DynamoDB stream, keeps the records the template's
  FilterCriteria keep, and calls the push function with them (`functions/push` `stream`),
  as Lambda's event source mapping does.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from aws_lambda_powertools import Logger
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from kiln.local.emulator import DYNAMODB_WRITES
from kiln.local.emulator.transport import _response
from kiln.local.functions import LambdaContext
from kiln.local.resources import load_template
from kiln.local.routes import websocket_routes

__all__ = ["LOCAL_ENDPOINT", "Connections", "StreamPump", "matches", "push_filters"]

logger = Logger(service="kiln-local")

# Never resolves (RFC 6761): only the in-process answer below can serve it.
LOCAL_ENDPOINT = "http://push.kiln-dev.invalid/live"
_CONNECTION_PATH = re.compile(r"/live/@connections/([^/]+)$")
SEND_TIMEOUT_S = 10.0

Handler = Callable[[dict[str, Any], Any], Any]


# --- the Management API -----------------------------------------------------------------


class Connections:
    """The open sockets by connection id, and the Management API answered from them."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[WebSocket, asyncio.AbstractEventLoop]] = {}
        self._lock = threading.Lock()
        self._hook: tuple[str, Any] | None = None
        self.posts = 0

    def add(self, connection_id: str, ws: WebSocket, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._open[connection_id] = (ws, loop)

    def discard(self, connection_id: str) -> None:
        with self._lock:
            self._open.pop(connection_id, None)

    def __len__(self) -> int:
        return len(self._open)

    def send(self, connection_id: str, data: bytes) -> bool:
        """Send on the socket from any thread but its loop's; False when it is gone."""
        with self._lock:
            entry = self._open.get(connection_id)
        if entry is None:
            return False
        ws, loop = entry
        if ws.application_state != WebSocketState.CONNECTED:
            return False
        try:
            asyncio.run_coroutine_threadsafe(ws.send_text(data.decode()), loop).result(
                SEND_TIMEOUT_S
            )
        except Exception:
            return False
        self.posts += 1
        return True

    def close(self, connection_id: str) -> bool:
        with self._lock:
            entry = self._open.pop(connection_id, None)
        if entry is None:
            return False
        ws, loop = entry
        asyncio.run_coroutine_threadsafe(ws.close(), loop)
        return True

    def answer(self, request: AWSPreparedRequest) -> AWSResponse:
        """`POST|DELETE /@connections/{id}` as API Gateway answers them."""
        match = _CONNECTION_PATH.search(urlsplit(request.url).path)
        if match is None:
            return _error(request, 404, "NotFoundException", "no such path")
        connection_id = unquote(match.group(1))
        body = request.body or b""
        data = body.encode() if isinstance(body, str) else bytes(body)  # type: ignore[arg-type]
        if request.method == "POST":
            done = self.send(connection_id, data)
        elif request.method == "DELETE":
            done = self.close(connection_id)
        else:
            with self._lock:
                done = connection_id in self._open
        if not done:
            return _error(request, 410, "GoneException", f"{connection_id} is gone")
        return _response(request, 200, [("Content-Type", "application/json")], b"{}")

    def install(self) -> None:
        """Answer this process's Management API requests to LOCAL_ENDPOINT."""

        def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
            return self.answer(request) if request.url.startswith(LOCAL_ENDPOINT) else None

        self._hook = ("before-send.apigatewaymanagementapi", send)
        BUILTIN_HANDLERS.append(self._hook)

    def uninstall(self) -> None:
        if self._hook is not None:
            BUILTIN_HANDLERS.remove(self._hook)
            self._hook = None


def _error(request: AWSPreparedRequest, status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": code, "message": message}).encode()
    return _response(
        request, status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], body
    )


# --- the WebSocket API ------------------------------------------------------------------


def _request_context(
    ws: WebSocket, connection_id: str, route: str, event_type: str
) -> dict[str, Any]:
    return {
        "routeKey": route,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": "live",
        "connectionId": connection_id,
        "domainName": ws.headers.get("host", ""),
        "apiId": "local",
        "requestId": secrets.token_urlsafe(9),
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": ws.client.host if ws.client else "unknown"},
    }


def connect_event(ws: WebSocket, connection_id: str) -> dict[str, Any]:
    """The `$connect` event API Gateway sends (headers and query string of the handshake)."""
    return {
        "headers": dict(ws.headers),
        "queryStringParameters": dict(ws.query_params) or None,
        "requestContext": _request_context(ws, connection_id, "$connect", "CONNECT"),
        "isBase64Encoded": False,
    }


def message_event(ws: WebSocket, connection_id: str, route: str, body: str) -> dict[str, Any]:
    return {
        "requestContext": _request_context(ws, connection_id, route, "MESSAGE"),
        "body": body,
        "isBase64Encoded": False,
    }


def disconnect_event(ws: WebSocket, connection_id: str) -> dict[str, Any]:
    return {
        "headers": dict(ws.headers),
        "requestContext": {
            **_request_context(ws, connection_id, "$disconnect", "DISCONNECT"),
            "disconnectStatusCode": 1000,
            "disconnectReason": "",
        },
        "isBase64Encoded": False,
    }


def route_of(body: str, routes: frozenset[str] | set[str]) -> str | None:
    """`$request.body.action` selects the route; unknown actions go to `$default` if any."""
    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError):
        action = None
    if isinstance(action, str) and action in routes and not action.startswith("$"):
        return action
    return "$default" if "$default" in routes else None


@cache
def _routes() -> frozenset[str]:
    return frozenset(websocket_routes(load_template()))


async def serve_push(ws: WebSocket, handler: Handler, connections: Connections) -> None:
    """One WebSocket on `/push`, played as API Gateway plays it for the handler."""
    routes = _routes()
    connection_id = secrets.token_urlsafe(12)
    context = LambdaContext("kiln-push-websocket")
    answer = await asyncio.to_thread(handler, connect_event(ws, connection_id), context)
    if int(answer.get("statusCode", 500)) != 200:
        await ws.close(code=1008)  # before accept: the handshake is refused (403)
        return
    protocol = (answer.get("headers") or {}).get("Sec-WebSocket-Protocol")
    connections.add(connection_id, ws, asyncio.get_running_loop())
    try:
        await ws.accept(subprotocol=protocol)
        while True:
            body = await ws.receive_text()
            route = route_of(body, routes)
            if route is None:
                await ws.send_json({"message": "Forbidden", "connectionId": connection_id})
                continue
            await asyncio.to_thread(handler, message_event(ws, connection_id, route, body), context)
    except WebSocketDisconnect:
        pass
    finally:
        connections.discard(connection_id)
        await asyncio.to_thread(handler, disconnect_event(ws, connection_id), context)


# --- the table's stream -----------------------------------------------------------------


def push_filters(template: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """PushFunction's FilterCriteria patterns, from the template."""
    tpl = template if template is not None else load_template()
    events = tpl["Resources"]["PushFunction"]["Properties"]["Events"]
    (stream,) = [e for e in events.values() if e["Type"] == "DynamoDB"]
    return [json.loads(f["Pattern"]) for f in stream["Properties"]["FilterCriteria"]["Filters"]]


def _value_matches(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict) and "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    return bool(rule == value)


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Lambda's event filtering for the pattern forms the template uses: nested objects,
    and lists of values or `{"prefix": ...}` of which one must match."""
    for key, rule in pattern.items():
        if key not in record:
            return False
        value = record[key]
        if isinstance(rule, dict):
            if not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif not any(_value_matches(r, value) for r in rule):
            return False
    return True


def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (timestamps as epoch seconds)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def forget_iterator(arn: str) -> None:
    """moto keeps every shard iterator it hands out, and a pump polling 40 times a second
    would grow that map without end: the one just used is dropped (in-process moto only)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    region = arn.split(":")[3]
    dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][region].shard_iterators.pop(arn, None)


class StreamPump:
    """Reads the table's stream from its latest record on and invokes `handler` with each
    poll's records that pass the filters, like the DynamoDB event source mapping."""

    def __init__(
        self,
        ddb: Any,
        streams: Any,
        table: str,
        handler: Handler,
        *,
        filters: list[dict[str, Any]] | None = None,
        interval_s: float = 0.025,
        idle_s: float = 0.25,
        emulated: bool = True,
    ) -> None:
        self.streams = streams
        self.emulated = emulated
        self.handler = handler
        self.filters = filters if filters is not None else push_filters()
        self.interval_s = interval_s
        self.idle_s = idle_s
        self.stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self.shard_id = shards[-1]["ShardId"]
        self.iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=self.shard_id, ShardIteratorType="LATEST"
        )["ShardIterator"]
        self.invocations = 0
        self.polls = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="pump-push-stream")

    def start(self) -> StreamPump:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def poll(self) -> int:
        """One GetRecords and, when records pass the filters, one invocation."""
        resp = self.streams.get_records(ShardIterator=self.iterator, Limit=100)
        self.polls += 1
        if self.emulated:
            forget_iterator(self.iterator)
        self.iterator = resp["NextShardIterator"]
        records = [
            _lambda_record(r, self.stream_arn)
            for r in resp.get("Records", [])
            if any(matches(f, r) for f in self.filters)
        ]
        if records:
            self.invocations += 1
            self.handler({"Records": records}, LambdaContext("kiln-push-stream"))
        return len(resp.get("Records", []))

    def _run(self) -> None:
        while not self.stopped.is_set():
            seen = DYNAMODB_WRITES.count
            try:
                read = self.poll()
            except Exception:
                logger.exception("push stream poll failed")
                read = 0
            if read:
                continue
            if self.emulated:  # the next write wakes it; the timeout covers another process's
                DYNAMODB_WRITES.wait_past(seen, self.idle_s)
            else:
                self.stopped.wait(self.interval_s)
