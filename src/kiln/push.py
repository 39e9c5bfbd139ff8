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

    {type: "events", job_id, events}    on subscribe, the job's events after `after` (as
                                        many messages as API Gateway's size limit needs);
                                        then each batch as the worker flushed it
    {type: "job", job: <JobPublic>}     on subscribe after the catch-up, what `GET
                                        /api/jobs/{id}?after=N` answers (without events),
                                        and once more when the job finishes
    {type: "error", code, message, job_id?}

Who posts what, so one viewer of a one-minute job costs a few invocations, not one per
flush: the subscribe route reads the catch-up, then records the subscription in the job's
item on condition that no event was reserved since (else it reads again). Each later batch
is reserved by a write that answers the job's subscribers (kiln.store.jobs.reserve_events),
and the worker posts the batch to them itself (`deliver`): nothing is missed or sent twice.
The table's stream calls the push function only when a job reaches a final state; the
subscribers come in the record's new image. Another owner's job answers REST's
`not_found`; a job followed by MAX_SUBSCRIBERS connections answers `too_many_subscribers`,
a connection following MAX_FOLLOWED jobs `too_many_subscriptions`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from botocore.config import Config
from pydantic import BaseModel, Field, ValidationError

from kiln import cognito
from kiln.config import Settings, allowed_origins
from kiln.errors import Conflict, KilnError, Unauthorized, Unavailable, Unprocessable
from kiln.models import JobStatus
from kiln.origins import origin_allowed
from kiln.store import connections
from kiln.store.connections import MAX_SUBSCRIBERS, Subscribed
from kiln.store.db import Store, aws_session, from_item
from kiln.store.job_polls import poll_job, public_job
from kiln.store.sessions import owner_for_token

__all__ = [
    "MAX_MESSAGE_BYTES",
    "ROUTES",
    "deliver",
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
# A worker posts between its flushes: a slow API must not hold the job up for long.
_POSTING = Config(
    connect_timeout=2, read_timeout=4, retries={"max_attempts": 2, "mode": "standard"}
)
# Subscribing reads again when a batch was reserved since its read: a flush every 250 ms
# against a read and a write of a few ms each, so a second try is already rare.
SUBSCRIBE_TRIES = 20

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
                "apigatewaymanagementapi",
                endpoint_url=endpoint,
                region_name=settings.aws_region,
                config=_POSTING,
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
        owner = cognito.owner_for_jwt(store.settings, token)
    else:
        owner = owner_for_token(store, token) if token else None
    if owner is None:
        return {"statusCode": 401, "body": "a valid session token is needed"}
    connections.add_connection(store, ctx["connectionId"], owner)
    answer: dict[str, Any] = {"statusCode": 200}
    if as_protocol:
        answer["headers"] = {"Sec-WebSocket-Protocol": PROTOCOL}
    return answer


def _catch_up(
    store: Store, client: Any, connection_id: str, job_id: str, owner: str, after: int
) -> tuple[dict[str, Any], int]:
    """Post the job's events after `after`; the job and the last event posted."""
    while True:  # a long job's events come in several reads
        job, events = poll_job(store, job_id, owner, after)
        for message in _events_messages(job_id, events):
            post(client, connection_id, message)
        if not events:
            return job, after
        after = events[-1]["seq"]


def subscribe(store: Store, client: Any, connection_id: str, body: dict[str, Any]) -> None:
    """Follow a job: send what it has so far, then subscribe from the last event sent (or,
    when a batch was reserved meanwhile, send that and try again)."""
    connection = connections.get_connection(store, connection_id)
    if connection is None:
        raise Unauthorized("this connection is not open")
    owner = str(connection["owner"])
    try:
        request = Subscribe.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(f"subscribe needs job_id and after: {exc.errors()[0]['msg']}") from exc
    job_id, sent = request.job_id, request.after
    followed = set(connection.get("jobs") or ())
    if job_id not in followed and len(followed) >= connections.MAX_FOLLOWED:
        raise Conflict(
            f"a connection follows at most {connections.MAX_FOLLOWED} jobs; open another",
            code="too_many_subscriptions",
        )
    for _ in range(SUBSCRIBE_TRIES):
        before = sent
        job, sent = _catch_up(store, client, connection_id, job_id, owner, sent)
        post(client, connection_id, _job_message(job_id, job, sent))
        if JobStatus(job["status"]).finished:
            return
        state = connections.subscribe(store, connection_id, job_id, sent)
        if state is Subscribed.yes:
            return
        if state is Subscribed.full:
            raise Conflict(
                f"{MAX_SUBSCRIBERS} connections already follow this job",
                code="too_many_subscribers",
            )
        if sent == before:
            time.sleep(0.005)  # a batch is reserved but not yet written
    raise Unavailable("the job's events kept moving; subscribe again", code="subscribe_busy")


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


# --- posting -----------------------------------------------------------------------


def original_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as the original protocol sends them: one message each, `status` named."""
    return [
        {**event, "status": event.get("phase")} if event.get("type") == "status" else event
        for event in events
    ]


_unposted = threading.Event()


def _post_all(client: Any, connection_id: str, messages: list[dict[str, Any]]) -> bool:
    """Post `messages` in order; False when the connection is gone. Never raises."""
    try:
        for message in messages:
            if not post(client, connection_id, message):
                return False
    except Exception:
        logger.warning("could not post to a connection", extra={"connection_id": connection_id})
    return True


_posters: ThreadPoolExecutor | None = None
_posters_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _posters
    with _posters_lock:
        if _posters is None:
            _posters = ThreadPoolExecutor(MAX_SUBSCRIBERS, thread_name_prefix="push-post")
        return _posters


def deliver(
    settings: Settings, job_id: str, events: list[dict[str, Any]], subs: dict[str, Any]
) -> list[str]:
    """Post a batch the worker has just written to the job's subscribers (those it answered
    when the batch was reserved), each the events it does not have, side by side: the
    worker waits for the slowest, not for them all. Never raises: a viewer that cannot be
    reached must not fail the job. Answers the connections that are gone."""
    if not subs:
        return []
    if not settings.push_endpoint:
        if not _unposted.is_set():
            _unposted.set()
            logger.warning("a job has subscribers but KILN_PUSH_ENDPOINT is not set")
        return []
    client = management_client(settings)
    sending: dict[str, list[dict[str, Any]]] = {}
    for connection_id, sub in subs.items():
        fresh = [e for e in events if e["seq"] > int(sub.get("after", 0))]
        if fresh:
            sending[connection_id] = (
                original_events(fresh)
                if sub.get("original")
                else list(_events_messages(job_id, fresh))
            )
    if len(sending) == 1:
        ((connection_id, messages),) = sending.items()
        return [] if _post_all(client, connection_id, messages) else [connection_id]
    posted = _pool().map(lambda item: _post_all(client, *item), sending.items())
    return [cid for cid, ok in zip(sending, posted, strict=True) if not ok]


# --- the table's stream -----------------------------------------------------------------


def _image(record: dict[str, Any], name: str) -> dict[str, Any]:
    return from_item(record["dynamodb"].get(name) or {})


def finished_jobs(records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The jobs the stream's records show reaching a final state, with their new image."""
    out: list[tuple[str, dict[str, Any]]] = []
    for record in records:
        keys = from_item(record["dynamodb"]["Keys"])
        pk, sk = str(keys["PK"]), str(keys["SK"])
        if not pk.startswith("JOB#") or sk != "META":
            continue
        new, old = _image(record, "NewImage"), _image(record, "OldImage")
        status = new.get("status")
        if status and status != old.get("status") and JobStatus(str(status)).finished:
            out.append((pk.removeprefix("JOB#"), new))
    return out


def handle_stream(store: Store, event: dict[str, Any], client: Any | None = None) -> dict[str, int]:
    """DynamoDB Streams records: each job that finished is posted to its subscribers (in
    the record; nothing is read but what the original protocol's last message carries).
    Answers what it did."""
    done = finished_jobs(event.get("Records", []))
    posted = gone = 0
    for job_id, job in done:
        subs: dict[str, Any] = job.get("subs") or {}
        if not subs:
            continue
        client = client or management_client(store.settings)
        plain = [_job_message(job_id, job, int(job.get("last_seq", 0)))]
        original: dict[str, list[dict[str, Any]]] = {}
        for connection_id, sub in subs.items():
            sending = plain
            framework = sub.get("original")
            if framework:
                from kiln import push_original

                if framework not in original:
                    original[framework] = push_original.finished(store, job_id, job, framework)
                sending = original[framework]
            for message in sending:
                if not post(client, connection_id, message):
                    logger.info("connection gone", extra={"connection_id": connection_id})
                    connections.remove_connection(store, connection_id, job_id)
                    gone += 1
                    break
                posted += 1
    return {"jobs": len(done), "posted": posted, "gone": gone}
