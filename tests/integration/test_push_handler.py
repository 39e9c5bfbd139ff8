"""The push function (`functions/push/app.py`) called as Lambda calls it: with the events
API Gateway's WebSocket API sends (`$connect`, a route's message, `$disconnect`) and the
records DynamoDB Streams delivers, and the worker's sink posting the batches it writes,
against the moto server, posting to a fake Management API that answers as API Gateway
does (200, or 410 GoneException)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from kiln.local.pump import sqs_event
from kiln.local.push import matches, push_filters
from kiln.models import JobStatus
from kiln.sink import EventSink
from kiln.store import jobs as store_jobs
from kiln.store.connections import MAX_FOLLOWED, MAX_SUBSCRIBERS
from kiln.store.db import Store, from_item, to_item
from kiln.store.sessions import create_session
from tests.fakes.apigw_management import FakeManagementApi
from tests.integration.test_functions import (  # noqa: F401  (fixtures)
    LambdaContext,
    fresh_event_loop,
    function,
)

pytestmark = pytest.mark.integration

DOMAIN = "abcd123.execute-api.us-east-1.amazonaws.com"
SITE = "https://d111111abcdef8.cloudfront.net"


@pytest.fixture
def management() -> Iterator[FakeManagementApi]:
    fake = FakeManagementApi()
    yield fake
    fake.close()


@pytest.fixture
def push(
    function: Callable[[str], ModuleType],  # noqa: F811
    management: FakeManagementApi,
    monkeypatch: pytest.MonkeyPatch,
) -> ModuleType:
    """functions/push/app.py configured as the template configures WebSocketFunction."""
    monkeypatch.setenv("KILN_PUSH_ENDPOINT", management.endpoint)
    monkeypatch.setenv("KILN_ALLOWED_ORIGINS", SITE)
    return function("push")


def connect_event(
    connection_id: str,
    *,
    protocol: str | None = None,
    query: dict[str, str] | None = None,
    origin: str | None = SITE,
) -> dict[str, Any]:
    """API Gateway's `$connect` event (REST-style proxy payload of a WebSocket API)."""
    headers = {
        "Host": DOMAIN,
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Amzn-Trace-Id": "Root=1-5f84c7a9-0e5b7b5b2d1f4c6a3e2d1c0b",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if origin:
        headers["Origin"] = origin
    if protocol:
        headers["Sec-WebSocket-Protocol"] = protocol
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "requestContext": _context(connection_id, "$connect", "CONNECT"),
        "isBase64Encoded": False,
    }


def _context(connection_id: str, route: str, event_type: str) -> dict[str, Any]:
    return {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": "T1kFzG4NoAMFZ8A=",
        "requestTime": "05/Dec/2026:07:00:00 +0000",
        "messageDirection": "IN",
        "stage": "live",
        "connectedAt": 1796540400000,
        "requestTimeEpoch": 1796540400000,
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
        "requestId": "T1kFzG4NoAMFZ8A=",
        "domainName": DOMAIN,
        "connectionId": connection_id,
        "apiId": "abcd123",
    }


def message_event(connection_id: str, route: str, body: dict[str, Any] | str) -> dict[str, Any]:
    context = {**_context(connection_id, route, "MESSAGE"), "messageId": "T1kGBfgGoAMCJ3w="}
    text = body if isinstance(body, str) else json.dumps(body)
    return {"requestContext": context, "body": text, "isBase64Encoded": False}


def disconnect_event(connection_id: str) -> dict[str, Any]:
    context = {
        **_context(connection_id, "$disconnect", "DISCONNECT"),
        "disconnectStatusCode": 1001,
        "disconnectReason": "Going away",
    }
    return {"headers": {"Host": DOMAIN}, "requestContext": context, "isBase64Encoded": False}


def stream_records(store: Store, since: str) -> tuple[list[dict[str, Any]], str]:
    """The table's stream records after iterator `since`, as Lambda delivers them."""
    streams = store.client("dynamodbstreams")
    resp = streams.get_records(ShardIterator=since)
    arn = _stream_arn(store)
    records = []
    for r in resp["Records"]:
        dynamodb = {**r["dynamodb"]}
        dynamodb["ApproximateCreationDateTime"] = dynamodb[
            "ApproximateCreationDateTime"
        ].timestamp()
        records.append(
            {
                "eventID": r["eventID"],
                "eventName": r["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": dynamodb,
                "eventSourceARN": arn,
            }
        )
    return records, resp["NextShardIterator"]


def _stream_arn(store: Store) -> str:
    return str(store.ddb.describe_table(TableName=store.table)["Table"]["LatestStreamArn"])


def latest(store: Store) -> str:
    streams = store.client("dynamodbstreams")
    arn = _stream_arn(store)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][-1]["ShardId"]
    return str(
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
    )


def filtered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the template's FilterCriteria let through to the function."""
    filters = push_filters()
    return [r for r in records if any(matches(f, r) for f in filters)]


def item(store: Store, pk: str, sk: str) -> dict[str, Any] | None:
    resp = store.ddb.get_item(TableName=store.table, Key=to_item({"PK": pk, "SK": sk}))
    return from_item(resp["Item"]) if "Item" in resp else None


def running_job(store: Store, owner: str) -> str:
    job_id = "j_" + uuid.uuid4().hex[:12]
    store_jobs.create_job(store, job_id, {"kind": "generate", "owner": owner, "project_id": "p1"})
    store_jobs.claim_job(store, job_id, "w1")
    return job_id


def write_batch(store: Store, job_id: str, last: int, texts: list[str]) -> None:
    """A batch written by the worker's own sink (reserved, written, posted to subscribers)."""
    sink = EventSink(store, job_id, "w1", last)
    sink.abandon()  # no timer: this test decides when it flushes
    for text in texts:
        sink.add({"type": "text", "text": text})
    sink.flush()


@pytest.fixture
def worker_store(store: Store, management: FakeManagementApi) -> Store:
    """A worker's store, configured as the template configures the worker functions."""
    return Store(store.settings.model_copy(update={"push_endpoint": management.endpoint}))


def subs_of(store: Store, job_id: str) -> dict[str, Any]:
    job = item(store, f"JOB#{job_id}", "META")
    assert job is not None
    return dict(job.get("subs") or {})


def subscribe(push: ModuleType, cid: str, job_id: str, after: int = 0) -> None:
    body = {"action": "subscribe", "job_id": job_id, "after": after}
    push.websocket(message_event(cid, "subscribe", body), LambdaContext())


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for m in messages if m["type"] == "events" for e in m["events"]]


def open_connection(push: ModuleType, management: FakeManagementApi, token: str) -> str:
    cid = uuid.uuid4().hex[:12] + "="
    answer = push.websocket(connect_event(cid, protocol=f"kiln, {token}"), LambdaContext())
    assert answer["statusCode"] == 200
    management.open.add(cid)
    return cid


# --- $connect ----------------------------------------------------------------------------


def test_connect_with_the_token_as_a_subprotocol_echoes_the_protocol_and_keeps_the_owner(
    push: ModuleType, store: Store
) -> None:
    token, owner = create_session(store)
    answer = push.websocket(connect_event("c1=", protocol=f"kiln, {token}"), LambdaContext())
    assert answer == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "kiln"}}
    conn = item(store, "CONN#c1=", "META")
    assert conn is not None and conn["owner"] == owner and conn["expires_at"] > 0


def test_connect_with_the_token_in_the_query_string_is_accepted(
    push: ModuleType, store: Store
) -> None:
    token, _ = create_session(store)
    answer = push.websocket(connect_event("c2=", query={"token": token}), LambdaContext())
    assert answer == {"statusCode": 200}


@pytest.mark.parametrize(
    ("protocol", "origin", "status"),
    [
        (None, SITE, 401),  # no token
        ("kiln, kiln_not-a-real-token-at-all-000000", SITE, 401),
        ("TOKEN", "https://evil.example", 403),  # a page of another site
    ],
)
def test_connect_is_refused_without_a_valid_token_or_from_another_origin(
    push: ModuleType, store: Store, protocol: str | None, origin: str, status: int
) -> None:
    token, _ = create_session(store)
    proto = protocol.replace("TOKEN", f"kiln, {token}") if protocol else None
    answer = push.websocket(connect_event("c3=", protocol=proto, origin=origin), LambdaContext())
    assert answer["statusCode"] == status
    assert item(store, "CONN#c3=", "META") is None


# --- subscribe --------------------------------------------------------------------------


def test_subscribe_sends_the_events_after_after_then_the_job(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    write_batch(store, job_id, 0, ["t1", "t2", "t3"])
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id, after=1)
    sent = management.received(cid)
    assert [m["type"] for m in sent] == ["events", "job"]
    assert seqs(sent) == [2, 3]
    assert sent[1]["job"]["status"] == "running" and sent[1]["job"]["next"] == 3
    assert subs_of(store, job_id) == {cid: {"after": 3}}


def test_subscribe_to_another_owners_job_answers_not_found_and_subscribes_nothing(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    _, owner_a = create_session(store)
    token_b, _ = create_session(store)
    job_id = running_job(store, owner_a)
    cid = open_connection(push, management, token_b)
    subscribe(push, cid, job_id)
    assert management.received(cid) == [
        {"type": "error", "code": "not_found", "message": "job not found", "job_id": job_id}
    ]
    assert subs_of(store, job_id) == {}


def test_a_long_jobs_catch_up_comes_in_messages_api_gateway_accepts(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    """API Gateway refuses a message over 128 KB: the catch-up is split, nothing lost."""
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    for n in range(4):
        write_batch(store, job_id, n * 10, ["x" * 6_000] * 10)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    sent = management.received(cid)
    assert all(len(json.dumps(m)) < 128 * 1024 for m in sent)
    assert seqs(sent) == list(range(1, 41))
    assert len(sent) > 2


def test_a_subscribe_to_a_finished_job_sends_the_rest_and_the_end_and_subscribes_nothing(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    write_batch(store, job_id, 0, ["a", "b"])
    store_jobs.finish_job(store, job_id, "w1", JobStatus.succeeded, {"version": 1})
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id, after=1)
    sent = management.received(cid)
    assert seqs(sent) == [2]
    assert sent[-1]["job"]["status"] == "succeeded" and sent[-1]["job"]["next"] == 2
    assert subs_of(store, job_id) == {}


def test_a_job_followed_by_too_many_connections_refuses_one_more(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    """Every flush posts to each viewer: their number is bounded, so a worker is too."""
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    for _ in range(MAX_SUBSCRIBERS):
        subscribe(push, open_connection(push, management, token), job_id)
    extra = open_connection(push, management, token)
    subscribe(push, extra, job_id)
    assert management.received(extra)[-1]["code"] == "too_many_subscribers"
    assert len(subs_of(store, job_id)) == MAX_SUBSCRIBERS
    assert extra not in subs_of(store, job_id)


def test_a_connection_following_too_many_jobs_refuses_one_more(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    """`$disconnect` forgets every job a connection follows: their number is bounded."""
    token, owner = create_session(store)
    cid = open_connection(push, management, token)
    jobs = [running_job(store, owner) for _ in range(MAX_FOLLOWED + 1)]
    for job_id in jobs[:-1]:
        subscribe(push, cid, job_id)
    subscribe(push, cid, jobs[0])  # following one again is not one more
    subscribe(push, cid, jobs[-1])
    assert management.received(cid)[-1]["code"] == "too_many_subscriptions"
    assert subs_of(store, jobs[-1]) == {}
    assert cid in subs_of(store, jobs[0])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "invalid_json"),
        ({"action": "subscribe", "after": 0}, "validation_error"),
        ({"action": "subscribe", "job_id": "j", "after": -1}, "validation_error"),
    ],
)
def test_a_bad_subscribe_gets_an_error_message(
    push: ModuleType, store: Store, management: FakeManagementApi, body: Any, code: str
) -> None:
    token, _ = create_session(store)
    cid = open_connection(push, management, token)
    push.websocket(message_event(cid, "subscribe", body), LambdaContext())
    (reply,) = management.received(cid)
    assert reply["type"] == "error" and reply["code"] == code


def test_disconnect_forgets_the_connection_and_its_subscriptions(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    other = running_job(store, owner)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    subscribe(push, cid, other)
    assert push.websocket(disconnect_event(cid), LambdaContext()) == {"statusCode": 200}
    assert item(store, f"CONN#{cid}", "META") is None
    assert subs_of(store, job_id) == {} and subs_of(store, other) == {}


# --- the worker posts its batches ------------------------------------------------------


def test_the_worker_posts_each_batch_it_writes_to_the_jobs_subscribers(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    write_batch(worker_store, job_id, 0, ["a", "b"])
    write_batch(worker_store, job_id, 2, ["c"])
    pushed = management.received(cid)[1:]  # after the subscribe's own job message
    assert [m["type"] for m in pushed] == ["events", "events"]
    assert seqs(pushed) == [1, 2, 3]
    assert [e["text"] for m in pushed for e in m["events"]] == ["a", "b", "c"]


def test_a_batch_written_between_the_catch_up_and_the_subscription_is_sent_once(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    """The worker flushes right after the route read the catch-up: the subscription is
    refused as moved on, the route reads that batch too, and later batches are pushed."""
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    write_batch(worker_store, job_id, 0, ["a"])
    sink = EventSink(worker_store, job_id, "w1", 1)
    sink.abandon()
    attempts: list[str] = []

    def flush_first(params: dict[str, Any], **_: Any) -> None:
        if "subs.#c" in params.get("UpdateExpression", "") and not attempts:
            attempts.append(job_id)
            sink.add({"type": "text", "text": "b"})
            sink.flush()

    push.store().ddb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", flush_first)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    sink.add({"type": "text", "text": "c"})
    sink.flush()
    assert attempts == [job_id]
    assert seqs(management.received(cid)) == [1, 2, 3]
    assert subs_of(store, job_id)[cid] == {"after": 2}


def test_viewers_subscribing_while_the_worker_flushes_get_every_event_once_and_in_order(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    """Viewers arrive while the worker flushes several times faster than it does for real:
    whatever the timing, each gets the catch-up, then the batches, with no gap and no
    event twice (a viewer told `subscribe_busy` subscribes again, as the web app does)."""
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    sink = EventSink(worker_store, job_id, "w1", 0)
    sink.abandon()
    stop = threading.Event()

    def work() -> None:
        n = 0
        while not stop.is_set() or n % 2 or n < 40:
            n += 1
            sink.add({"type": "text", "text": f"t{n}"})
            if n % 2 == 0:
                sink.flush()
            time.sleep(random.uniform(0.005, 0.03))

    worker = threading.Thread(target=work)
    worker.start()
    viewers: dict[str, int] = {}
    for _ in range(MAX_SUBSCRIBERS):
        cid = open_connection(push, management, token)
        viewers[cid] = have = random.choice([0, 0, 1])
        subscribe(push, cid, job_id, after=have)
        while management.received(cid)[-1].get("code") == "subscribe_busy":
            subscribe(push, cid, job_id, after=max([have, *seqs(management.received(cid))]))
    stop.set()
    worker.join()
    total = sink.seq
    assert total >= 40
    for cid, after in viewers.items():
        sent = management.received(cid)
        assert not [m for m in sent if m["type"] == "error" and m["code"] != "subscribe_busy"]
        assert seqs(sent) == list(range(after + 1, total + 1)), cid


def test_after_a_worker_dies_its_successor_posts_to_the_same_viewers(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    write_batch(worker_store, job_id, 0, ["a", "b"])  # w1, then it stops heartbeating
    stale = store_jobs.get_job(store, job_id)["heartbeat_at"]
    assert store_jobs.requeue_job(store, job_id, stale)
    assert store_jobs.claim_job(store, job_id, "w2") is not None
    sink = EventSink(worker_store, job_id, "w2", store_jobs.last_event_seq(store, job_id))
    sink.abandon()
    sink.add({"type": "text", "text": "c"})
    sink.flush()
    assert seqs(management.received(cid)) == [1, 2, 3]


def test_a_connection_that_is_gone_is_removed_with_all_its_subscriptions(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    other = running_job(store, owner)
    stale = open_connection(push, management, token)
    live = open_connection(push, management, token)
    for cid in (stale, live):
        subscribe(push, cid, job_id)
        subscribe(push, cid, other)
    management.open.discard(stale)  # the client went away without a $disconnect
    write_batch(worker_store, job_id, 0, ["a"])
    assert set(subs_of(store, job_id)) == {live} and set(subs_of(store, other)) == {live}
    assert item(store, f"CONN#{stale}", "META") is None
    assert seqs(management.received(live)) == [1]


def test_a_viewer_the_worker_cannot_reach_does_not_fail_the_job(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    broken = open_connection(push, management, token)
    live = open_connection(push, management, token)
    for cid in (broken, live):
        subscribe(push, cid, job_id)
    management.failing.add(broken)  # API Gateway answers 500 for it
    write_batch(worker_store, job_id, 0, ["a"])
    write_batch(worker_store, job_id, 1, ["b"])
    assert seqs(management.received(live)) == [1, 2]
    assert store_jobs.last_event_seq(store, job_id) == 2
    assert set(subs_of(store, job_id)) == {broken, live}


def test_a_batch_reaches_its_viewers_without_the_push_function_or_a_read(
    push: ModuleType, store: Store, worker_store: Store, management: FakeManagementApi
) -> None:
    """The cost of push: a flush is one reserve and one put, whether anyone watches or not;
    the table's stream carries nothing to the push function until the job ends."""
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    calls: list[str] = []
    worker_store.ddb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    since = latest(store)
    for n in range(5):
        write_batch(worker_store, job_id, n, [f"t{n}"])
    assert calls == ["UpdateItem", "PutItem"] * 5
    records, _ = stream_records(store, since)
    assert filtered(records) == []
    assert seqs(management.received(cid)) == [1, 2, 3, 4, 5]


# --- the stream -------------------------------------------------------------------------


def test_the_filters_pass_a_job_reaching_a_final_state_once_and_nothing_else(
    store: Store,
) -> None:
    _, owner = create_session(store)
    since = latest(store)
    job_id = running_job(store, owner)  # INSERT META, then MODIFY (claim)
    store_jobs.heartbeat(store, job_id, "w1")  # MODIFY META, still running
    write_batch(store, job_id, 0, ["hi"])
    store_jobs.finish_job(store, job_id, "w1", JobStatus.succeeded, {"version": 1})
    store.ddb.update_item(  # a later change to the finished job
        TableName=store.table,
        Key=to_item({"PK": f"JOB#{job_id}", "SK": "META"}),
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "x"}},
    )
    create_session(store)  # another kind of item
    records, _ = stream_records(store, since)
    kept = filtered(records)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in kept] == [
        ("MODIFY", "META")
    ]
    assert kept[0]["dynamodb"]["NewImage"]["status"]["S"] == "succeeded"
    assert len(records) > len(kept)


def test_a_finished_job_reaches_its_subscribers_from_the_record_without_a_read(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    token, owner = create_session(store)
    job_id = running_job(store, owner)
    cid = open_connection(push, management, token)
    subscribe(push, cid, job_id)
    write_batch(store, job_id, 0, ["a", "b", "c"])
    since = latest(store)
    store_jobs.finish_job(store, job_id, "w1", JobStatus.succeeded, {"version": 1})
    records, _ = stream_records(store, since)
    reads: list[str] = []
    push.store().ddb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: reads.append(model.name)
    )
    answer = push.stream({"Records": filtered(records)}, LambdaContext())
    assert answer == {"jobs": 1, "posted": 1, "gone": 0}
    assert reads == []
    end = management.received(cid)[-1]
    assert end["job"]["status"] == "succeeded" and end["job"]["version"] == 1
    assert end["job"]["next"] == 3
    assert "owner" not in end["job"] and "subs" not in end["job"]


def test_the_local_stream_pump_delivers_the_filtered_records_as_lambda_does(
    store: Store,
) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from kiln.local.push import StreamPump

    batches: list[dict[str, Any]] = []
    pump = StreamPump(
        store.ddb, store.client("dynamodbstreams"), store.table, lambda e, _: batches.append(e)
    )
    iterators = dynamodbstreams_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].shard_iterators
    held = len(iterators)
    _, owner = create_session(store)
    job_id = running_job(store, owner)
    write_batch(store, job_id, 0, ["a"])
    store_jobs.finish_job(store, job_id, "w1", JobStatus.failed, {"error_code": "x"})
    for _ in range(20):
        pump.poll()
    (event,) = batches
    (record,) = event["Records"]
    assert record["eventName"] == "MODIFY" and record["eventSource"] == "aws:dynamodb"
    assert record["dynamodb"]["Keys"]["SK"] == {"S": "META"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["eventSourceARN"] == _stream_arn(store)
    assert len(iterators) <= held + 1, "moto's used shard iterators are let go"


# --- the original protocol ---------------------------------------------------------------

SID = "5b0e1f2a-6c7d-4e8f-9a0b-1c2d3e4f5a6b"


def test_an_original_client_connects_with_its_session_id_and_no_token(
    push: ModuleType, store: Store
) -> None:
    answer = push.websocket(connect_event("o1=", query={"session_id": SID}), LambdaContext())
    assert answer == {"statusCode": 200}
    conn = item(store, "CONN#o1=", "META")
    assert conn is not None and conn["owner"].startswith("o_")


def test_a_guessable_session_id_is_refused_at_connect(push: ModuleType, store: Store) -> None:
    answer = push.websocket(connect_event("o2=", query={"session_id": "short"}), LambdaContext())
    assert answer["statusCode"] == 422
    assert item(store, "CONN#o2=", "META") is None


def test_generate_code_by_type_streams_events_then_code_generated_and_completed(
    push: ModuleType,
    function: Callable[[str], ModuleType],  # noqa: F811
    store: Store,
    management: FakeManagementApi,
) -> None:
    push.websocket(connect_event("o3=", query={"session_id": SID}), LambdaContext())
    management.open.add("o3=")
    since = latest(store)
    body = {"type": "generate_code", "prompt": "a counter", "framework": "react"}
    push.websocket(message_event("o3=", "$default", body), LambdaContext())
    (started,) = management.received("o3=")
    assert started["type"] == "status" and started["status"] == "generating"
    generate = function("generate")  # the worker, configured as the template does
    resp = store.sqs.receive_message(QueueUrl=store.settings.generate_queue_url)
    event = sqs_event("arn:aws:sqs:us-east-1:000000000000:generate", resp["Messages"])
    assert generate.worker(event, LambdaContext()) == {"batchItemFailures": []}
    records, _ = stream_records(store, since)
    push.stream({"Records": filtered(records)}, LambdaContext())
    sent = management.received("o3=")[1:]
    kinds = [m["type"] for m in sent]
    assert "file_start" in kinds and "file_end" in kinds
    assert kinds[-2:] == ["code_generated", "status"] and sent[-1]["status"] == "completed"
    final = sent[-2]
    assert set(final["code"]) == {"app", "main", "html", "css", "js"}
    assert final["code"]["app"] == final["files"]["src/App.tsx"]
    statuses = [m for m in sent if m["type"] == "status" and "phase" in m]
    assert all(m["status"] == m["phase"] for m in statuses)


def test_update_context_by_action_is_acknowledged(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    push.websocket(connect_event("o4=", query={"session_id": SID}), LambdaContext())
    management.open.add("o4=")
    body = {"action": "update_context", "context": {"theme": "dark"}}
    push.websocket(message_event("o4=", "update_context", body), LambdaContext())
    assert management.received("o4=") == [{"type": "context_updated", "context": {"theme": "dark"}}]


def test_original_messages_need_a_connection_made_with_a_session_id(
    push: ModuleType, store: Store, management: FakeManagementApi
) -> None:
    token, _ = create_session(store)
    cid = open_connection(push, management, token)
    body = {"type": "generate_code", "prompt": "a counter"}
    push.websocket(message_event(cid, "$default", body), LambdaContext())
    (reply,) = management.received(cid)
    assert reply["type"] == "error" and reply["code"] == "session_required"
