"""Push: a job's events sent over a WebSocket as they are written, instead of polled.

On AWS an API Gateway WebSocket API calls `handle_websocket` for its routes and DynamoDB
Streams call `handle_stream` with the table's changes; `kiln dev` serves the same routes
on `/push` and pumps the emulator's stream into the same function (kiln.local.push), so
one code path runs in both places.

Routes (`RouteSelectionExpression: $request.body.action`):

    $connect     the owner from `?token=` or `Sec-WebSocket-Protocol: kiln, <token>` (a
                 browser cannot set headers on a WebSocket); a page from another origin
                 than the site's or KILN_ALLOWED_ORIGINS is refused, as on /ws
    $disconnect  the connection and its subscriptions are forgotten
    subscribe    `{action: "subscribe", job_id, after}`: the connection follows the job
    generate_code, update_context (and `$default` for `{type: ...}`): the original
                 protocol, for connections made with `?session_id=` (kiln.push_original)

Messages to the client:

    {type: "job", job: <JobPublic>}     on subscribe: the job and its events after `after`,
                                        exactly what `GET /api/jobs/{id}?after=N` answers
                                        (several messages when the events are many); and
                                        when the job finishes (no events; `next` is its
                                        last sequence number)
    {type: "events", job_id, events}    a batch, as the worker flushed it
    {type: "error", code, message, job_id?}

A subscription is written before the catch-up is read, so every batch is in the catch-up,
pushed, or both: the client applies events in sequence order and drops those it has.
Another owner's job answers the `not_found` of REST.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field, ValidationError

from kiln import cognito
from kiln.config import Settings, allowed_origins
from kiln.errors import KilnError, Unauthorized, Unprocessable
from kiln.models import JobStatus
from kiln.origins import origin_allowed
from kiln.store import connections
from kiln.store.db import Store, aws_session, from_item
from kiln.store.job_polls import poll_job, public_job
from kiln.store.jobs import get_job
from kiln.store.sessions import owner_for_token

__all__ = [
    "MAX_MESSAGE_BYTES",
    "ROUTES",
    "handle_stream",
    "handle_websocket",
    "management_client",
    "post",
]

logger = Logger(service="kiln-push")

# The WebSocket API's routes (infra/template.yaml), each served by `handle_websocket`.
ROUTES = frozenset(
    {"$connect", "$disconnect", "subscribe", "generate_code", "update_context", "$default"}
)
# The original protocol's messages (kiln.push_original); its clients send `type`, which
# reaches `$default`, or `action`, which reaches the route of that name.
ORIGINAL_ACTIONS = ("generate_code", "update_context")
PROTOCOL = "kiln"
# API Gateway refuses messages over 128 KB; events are split well below that.
MAX_MESSAGE_BYTES = 96_000

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


class Subscribe(BaseModel):
    job_id: str = Field(min_length=1, max_length=64)
    after: int = Field(0, ge=0)


# --- the Management API -----------------------------------------------------------------


def management_client(settings: Settings) -> Any:
    """The API Gateway Management API client for `settings.push_endpoint` (kiln dev
    answers it in process: kiln.local.push)."""
    endpoint = settings.push_endpoint
    if not endpoint:
        raise RuntimeError("KILN_PUSH_ENDPOINT is not set: no WebSocket API to post to")
    with _clients_lock:
        if endpoint not in _clients:
            _clients[endpoint] = aws_session(settings).client(
                "apigatewaymanagementapi", endpoint_url=endpoint, region_name=settings.aws_region
            )
        return _clients[endpoint]


def _gone(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return bool(code == "GoneException" or status == 410)


def post(client: Any, connection_id: str, message: dict[str, Any]) -> bool:
    """Send one message; False when the connection is gone."""
    data = json.dumps(message, separators=(",", ":")).encode()
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=data)
    except Exception as exc:
        if _gone(exc):
            return False
        raise
    return True


def _events_messages(job_id: str, events: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """`events` as `{type: events}` messages, each under MAX_MESSAGE_BYTES."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for event in events:
        n = len(json.dumps(event, separators=(",", ":")))
        if chunk and size + n > MAX_MESSAGE_BYTES:
            yield {"type": "events", "job_id": job_id, "events": chunk}
            chunk, size = [], 0
        chunk.append(event)
        size += n + 1
    if chunk:
        yield {"type": "events", "job_id": job_id, "events": chunk}


def _job_message(job_id: str, job: dict[str, Any], after: int) -> dict[str, Any]:
    return {
        "type": "job",
        "job": public_job(job_id, job, [], after).model_dump(mode="json", exclude_none=True),
    }


def _error(exc: KilnError, job_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
    if job_id:
        message["job_id"] = job_id
    return message


# --- the WebSocket routes -----------------------------------------------------------------


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.get("headers") or {}).items()}


def _offered_token(event: dict[str, Any]) -> tuple[str | None, bool]:
    """(the token, whether it came as a subprotocol, which the answer must then echo)."""
    offered = [p.strip() for p in _headers(event).get("sec-websocket-protocol", "").split(",")]
    for value in offered:  # after `kiln`, any token (a Cognito JWT is one: dots are legal)
        if value and value != PROTOCOL and (PROTOCOL in offered or value.startswith("kiln_")):
            return value, True
    token = (event.get("queryStringParameters") or {}).get("token")
    return token or None, False


def connect(store: Store, event: dict[str, Any]) -> dict[str, Any]:
    """`$connect`: 200 with the connection remembered for its owner, or 401/403."""
    ctx = event["requestContext"]
    headers = _headers(event)
    if not origin_allowed(
        headers.get("origin"), ctx.get("domainName"), allowed_origins(store.settings)
    ):
        return {"statusCode": 403, "body": "origin not allowed"}
    token, as_protocol = _offered_token(event)
    session_id = (event.get("queryStringParameters") or {}).get("session_id")
    if session_id:
        from kiln import push_original

        return {"statusCode": push_original.connect(store, event, session_id, token)}
    if cognito.configured(store.settings):  # as REST behind the JWT authorizer: no session
        owner = cognito.owner_for_jwt(store.settings, token) if token else None
    else:
        owner = owner_for_token(store, token) if token else None
    if owner is None:
        return {"statusCode": 401, "body": "a valid session token is needed"}
    connections.add_connection(store, ctx["connectionId"], owner)
    answer: dict[str, Any] = {"statusCode": 200}
    if as_protocol:
        answer["headers"] = {"Sec-WebSocket-Protocol": PROTOCOL}
    return answer


def subscribe(store: Store, client: Any, connection_id: str, body: dict[str, Any]) -> None:
    """Follow a job: remember the subscription, then send what the job has so far."""
    owner = connections.connection_owner(store, connection_id)
    if owner is None:
        raise Unauthorized("this connection is not open")
    try:
        request = Subscribe.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(f"subscribe needs job_id and after: {exc.errors()[0]['msg']}") from exc
    job_id = request.job_id
    get_job(store, job_id, owner)  # another owner's job: NotFound, and no subscription
    connections.subscribe(store, connection_id, job_id)
    after = request.after
    job, events = poll_job(store, job_id, owner, after)
    while True:  # a long job's events come in several reads
        for message in _events_messages(job_id, events):
            post(client, connection_id, message)
        if not events:
            break
        after = events[-1]["seq"]
        job, events = poll_job(store, job_id, owner, after)
    post(client, connection_id, _job_message(job_id, job, after))


def handle_websocket(
    store: Store, event: dict[str, Any], client: Any | None = None
) -> dict[str, Any]:
    """One WebSocket event from API Gateway (or kiln dev): its route's work."""
    ctx = event["requestContext"]
    route = ctx.get("routeKey", "$default")
    connection_id = ctx["connectionId"]
    if route == "$connect":
        return connect(store, event)
    if route == "$disconnect":
        connections.remove_connection(store, connection_id)
        return {"statusCode": 200}
    client = client or management_client(store.settings)
    job_id = None
    try:
        try:
            body = json.loads(event.get("body") or "null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Unprocessable("messages must be JSON objects", code="invalid_json")
        job_id = body.get("job_id") if isinstance(body.get("job_id"), str) else None
        action = (body.get("action") or body.get("type")) if route == "$default" else route
        if action in ORIGINAL_ACTIONS:
            return _original(store, client, event, body)
        if action != "subscribe":
            raise Unprocessable(f"unknown action {action!r}", code="unknown_message")
        subscribe(store, client, connection_id, body)
    except KilnError as exc:
        post(client, connection_id, _error(exc, job_id))
    return {"statusCode": 200}


def _original(
    store: Store, client: Any, event: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """A message of the original protocol (kiln.push_original), answered in its shapes."""
    from kiln import push_original

    connection_id = event["requestContext"]["connectionId"]
    connection = connections.get_connection(store, connection_id)
    try:
        if connection is None:
            raise Unauthorized("this connection is not open")
        replies = push_original.handle(store, event, connection, body)
    except KilnError as exc:
        replies = [push_original.error(exc)]
    for reply in replies:
        post(client, connection_id, reply)
    return {"statusCode": 200}


# --- the table's stream -----------------------------------------------------------------


def _image(record: dict[str, Any], name: str) -> dict[str, Any]:
    return from_item(record["dynamodb"].get(name) or {})


def stream_messages(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The messages the stream's records make, by job, in record order: a batch of events
    for each new `EVENT#` item, the job for each change of its status to a final one."""
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        keys = from_item(record["dynamodb"]["Keys"])
        pk, sk = str(keys["PK"]), str(keys["SK"])
        if not pk.startswith("JOB#"):
            continue
        job_id = pk.removeprefix("JOB#")
        new = _image(record, "NewImage")
        if sk.startswith("EVENT#") and record["eventName"] == "INSERT":
            out.setdefault(job_id, []).extend(_events_messages(job_id, json.loads(new["data"])))
        elif sk == "META" and new:
            old = _image(record, "OldImage")
            status = new.get("status")
            if status != old.get("status") and JobStatus(str(status)).finished:
                last = int(new.get("last_seq", 0))
                out.setdefault(job_id, []).append(_job_message(job_id, new, last))
    return out


def handle_stream(store: Store, event: dict[str, Any], client: Any | None = None) -> dict[str, int]:
    """DynamoDB Streams records: each job's messages posted to its subscribers; a
    connection that is gone is removed with its subscriptions. Answers what it did."""
    by_job = stream_messages(event.get("Records", []))
    if by_job and client is None:
        client = management_client(store.settings)
    posted = gone = 0
    for job_id, messages in by_job.items():
        original: list[dict[str, Any]] | None = None
        for cid, framework in connections.subscribers(store, job_id):
            sending = messages
            if framework:
                from kiln import push_original

                if original is None:
                    original = push_original.translate(store, messages, framework)
                sending = original
            for message in sending:
                if not post(client, cid, message):
                    logger.info("connection gone", extra={"connection_id": cid})
                    connections.remove_connection(store, cid)
                    gone += 1
                    break
                posted += 1
    return {"jobs": len(by_job), "posted": posted, "gone": gone}
