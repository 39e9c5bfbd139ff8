"""P11 push vs polling: the latency from a worker's flush to the event in a client, and
what one viewer of a one-minute generation costs in function invocations and DynamoDB
reads, over `/push` (WebSocket + the stream pump + the push function) and over
`GET /api/jobs/{id}?after=N` every 300 ms, as the web app does.

The stack is kiln dev's own (`start_stack` + `asgi_app` under uvicorn, in this process);
the bench drives the worker's own sink (kiln.sink.EventSink: reserve, write, post to the
job's subscribers) and flushes it every 250 ms (its flush interval) with the time of the
flush in each event, so a client's arrival time minus that stamp is the latency. Each
phase writes `BATCHES` batches (20 s); counts are scaled by 60 s / the phase's length to
one minute. Counted: invocations of the status function (one per poll) or of the push
functions (`$connect`, `subscribe`, `$disconnect`, and one per stream poll that found
matching records); DynamoDB reads (GetItem, Query, Scan, BatchGetItem) made by any of them
or by the worker. The stream's GetRecords calls are reported apart: Lambda's calls for a
trigger are not billed as reads.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.stats import Figure, figure, percentile

FLUSH_S = 0.25
POLL_S = 0.3
BATCHES = 80
PER_BATCH = 4
LATENCY_GOAL = 0.3
COST_GOAL = 0.1
READS = ("GetItem", "Query", "Scan", "BatchGetItem")


class _Reads:
    """DynamoDB read calls made through this process's clients (botocore's before-call)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.counts[model.name] += 1

    def reads(self) -> int:
        return sum(self.counts[name] for name in READS)


def _writer(store: Any, job_id: str, start: threading.Event) -> None:
    from kiln.models import JobStatus
    from kiln.sink import EventSink
    from kiln.store import jobs as store_jobs

    sink = EventSink(store, job_id, "bench-worker", 0)
    sink.abandon()  # flushed here on the sink's interval, so each batch carries its stamp
    start.wait()
    for _ in range(BATCHES):
        time.sleep(FLUSH_S)
        stamp = repr(time.time())
        for _ in range(PER_BATCH):
            sink.add({"type": "text", "text": stamp})
        sink.flush()
    time.sleep(FLUSH_S)
    store_jobs.finish_job(store, job_id, "bench-worker", JobStatus.succeeded, {"version": 1})


def _latencies(events: list[dict[str, Any]], arrived: float, out: list[float]) -> None:
    for event in events:
        if event.get("type") == "text":
            out.append((arrived - float(event["text"])) * 1000)


def _poll_client(base: str, token: str, job_id: str, out: list[float]) -> int:
    polls, after = 0, 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            job = client.get(f"/api/jobs/{job_id}", params={"after": after}).json()
            polls += 1
            _latencies(job["events"], time.time(), out)
            after = job["next"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return polls
            time.sleep(POLL_S)


def _push_client(
    base: str, token: str, job_id: str, out: list[float], ready: threading.Event
) -> None:
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + "/push"
    have = 0
    with connect(url, subprotocols=["kiln", token]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"action": "subscribe", "job_id": job_id, "after": 0}))
        ready.set()
        while True:
            message = json.loads(ws.recv(timeout=30))
            arrived = time.time()
            if message["type"] == "events":
                fresh = [e for e in message["events"] if e["seq"] > have]
                _latencies(fresh, arrived, out)
                have = max([have, *(e["seq"] for e in fresh)])
            elif message["type"] == "job":
                if message["job"]["status"] in ("succeeded", "failed", "cancelled"):
                    return
            elif message["type"] == "error":
                raise RuntimeError(message)


def _phase(stack: Any, base: str, how: str) -> dict[str, Any]:
    from kiln.store import jobs as store_jobs
    from kiln.store.sessions import create_session

    store = stack.apps["status"].state.store
    token, owner = create_session(store)
    job_id = "j_bench_" + uuid.uuid4().hex[:10]
    store_jobs.create_job(store, job_id, {"kind": "generate", "owner": owner, "project_id": "p"})
    store_jobs.claim_job(store, job_id, "bench-worker")
    reads = _Reads()
    clients = {id(c): c for c in (_ddb_client(stack, how), store.ddb)}.values()
    for ddb in clients:
        ddb.meta.events.register("before-call.dynamodb", reads)
    start = threading.Event()
    writer = threading.Thread(target=_writer, args=(store, job_id, start), daemon=True)
    writer.start()
    latencies: list[float] = []
    pump = stack.stream_pump
    invocations_before = pump.invocations
    stream_polls = pump.polls
    started = time.monotonic()
    try:
        if how == "poll":
            start.set()
            invocations = _poll_client(base, token, job_id, latencies)
        else:
            ready = threading.Event()
            client = threading.Thread(
                target=_push_client, args=(base, token, job_id, latencies, ready), daemon=True
            )
            client.start()
            ready.wait(30)
            start.set()
            client.join(BATCHES * FLUSH_S + 60)
            time.sleep(0.3)  # the $disconnect is handled after the socket closed
            invocations = pump.invocations - invocations_before
        writer.join(60)
    finally:
        for ddb in clients:
            ddb.meta.events.unregister("before-call.dynamodb", reads)
    seconds = time.monotonic() - started
    return {
        "latencies_ms": latencies,
        "invocations": invocations,
        "reads": reads.reads(),
        "read_calls": dict(reads.counts),
        "stream_polls": pump.polls - stream_polls,
        "seconds": seconds,
    }


def _ddb_client(stack: Any, how: str) -> Any:
    """The DynamoDB client of the function that serves `how`: the status function's for
    polls, the push function's (its WebSocket routes and its stream handler) for push."""
    from kiln.local.functions import load_function

    if how == "poll":
        return stack.apps["status"].state.store.ddb
    return load_function("push").store().ddb


def run() -> list[Figure]:
    import uvicorn

    from kiln.local.server import asgi_app, start_stack

    # functions an earlier figure loaded keep that figure's (stopped) emulator
    for name in [m for m in sys.modules if m.startswith("kiln_function_")]:
        del sys.modules[name]
    os.environ.setdefault("KILN_LLM_PROVIDER", "starter")
    os.environ["KILN_BUILD_GATE"] = "false"
    os.environ["KILN_ADDRESS_RATE_LIMIT_PER_MINUTE"] = "100000"
    data = tempfile.TemporaryDirectory(prefix="kiln-bench-push-")
    stack = start_stack(None, tick_s=60.0)
    from bench.devstack import free_port

    port = free_port()
    config = uvicorn.Config(
        asgi_app(stack, Path(data.name)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        poll = _phase(stack, base, "poll")
        push = _phase(stack, base, "push")
    finally:
        server.should_exit = True
        thread.join(10)
        stack.stop()
        data.cleanup()
    return _figures(poll, push)


def _figures(poll: dict[str, Any], push: dict[str, Any]) -> list[Figure]:
    p_lat, q_lat = push["latencies_ms"], poll["latencies_ms"]
    p50, p95 = percentile(p_lat, 50), percentile(p_lat, 95)
    q50, q95 = percentile(q_lat, 50), percentile(q_lat, 95)
    ratio95 = p95 / q95 if q95 else float("inf")
    per_minute = 60.0 / (BATCHES * FLUSH_S)

    def cost(phase: dict[str, Any], once: int = 0) -> float:
        """Scaled to a minute; `once` calls happen once per viewer, whatever the length."""
        return float(phase["invocations"] + phase["reads"]) * per_minute + once

    # $connect, subscribe and $disconnect: once per viewer (their reads are in "reads",
    # scaled with the rest, which overstates push a little)

    push_cost, poll_cost = cost(push, once=3), cost(poll)
    latency = figure(
        "P11-latency",
        "worker flush -> event in the client, push (p50)",
        unit="ms",
        samples=p_lat,
        baseline=q50,
        ratio_samples=None,
        goal=f"push / 300 ms polling <= {LATENCY_GOAL} (p50 and p95)",
        met=bool(q50 and p50 / q50 <= LATENCY_GOAL and ratio95 <= LATENCY_GOAL),
        notes="kiln dev in process (uvicorn; the worker's sink posts each batch); the bench "
        f"flushes a batch of {PER_BATCH} events every {FLUSH_S} s, each stamped with its flush "
        "time",
        extra={
            "push_p50_ms": round(p50, 1),
            "push_p95_ms": round(p95, 1),
            "poll_p50_ms": round(q50, 1),
            "poll_p95_ms": round(q95, 1),
            "ratio_p50": round(p50 / q50, 3) if q50 else None,
            "ratio_p95": round(ratio95, 3),
            "samples": {"push": len(p_lat), "poll": len(q_lat)},
        },
    )
    costs = figure(
        "P11-cost",
        "invocations + DynamoDB reads, one viewer, one-minute generation, push",
        unit="calls",
        samples=[push_cost],
        baseline=poll_cost,
        goal=f"push / polling <= {COST_GOAL}",
        met=push_cost / poll_cost <= COST_GOAL if poll_cost else None,
        notes=f"{BATCHES} batches in {BATCHES * FLUSH_S:.0f} s per phase, counts scaled x"
        f"{per_minute:g} to a minute; the worker posts its batches itself (its reserve write "
        "answers the subscribers), so the push function runs once per job, when it ends",
        extra={
            "push": {k: v for k, v in push.items() if k != "latencies_ms"},
            "poll": {k: v for k, v in poll.items() if k != "latencies_ms"},
            "per_minute_factor": per_minute,
        },
    )
    return [latency, costs]
