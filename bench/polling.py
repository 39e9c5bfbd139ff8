"""P3 status polling: `GET /api/jobs/{id}?after=N` through the status function, in process
(ASGI via httpx's ASGITransport, and Mangum with a saved API Gateway HTTP API v2 event
calling functions/status/app.py's `handler`), against the raw boto3 read the request
needs on the same emulator: one query of the job's partition.

The three are interleaved request by request so machine noise hits them alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import httpx

from bench.stats import Figure, figure, percentile
from kiln.config import Settings, get_settings
from kiln.local.emulator import start_emulator
from kiln.local.functions import LambdaContext, load_function
from kiln.local.resources import create_resources
from kiln.store import jobs as store_jobs
from kiln.store.db import Store, to_item
from kiln.store.sessions import create_session

EVENT = Path(__file__).with_name("apigw_http_v2_event.json")
REQUESTS = 200
BATCHES, PER_BATCH = 8, 20
MAX_RATIO = 1.3


def _seed(store: Store) -> tuple[str, str, int]:
    """A session and a running job with a few event batches; returns (token, job, after)."""
    token, owner = create_session(store)
    job_id = "j_bench" + uuid.uuid4().hex[:8]
    store_jobs.create_job(store, job_id, {"kind": "generate", "owner": owner, "project_id": "p"})
    seq = 0
    for _ in range(BATCHES):
        batch = []
        for _ in range(PER_BATCH):
            seq += 1
            batch.append(
                {"seq": seq, "type": "file_chunk", "path": "src/App.tsx", "text": "x" * 40}
            )
        store_jobs.append_events(store, job_id, batch)
    return token, job_id, seq - PER_BATCH  # a poll that finds the newest batch


def _raw_reads(store: Store, client: Any, token: str, job_id: str, after: int) -> None:
    """What a poll reads: the job's partition after `after` (its event batches, then META).
    The owner of a token is cached after its first request, so no session read."""
    client.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND SK > :after",
        ExpressionAttributeValues=to_item({":pk": f"JOB#{job_id}", ":after": f"EVENT#{after:08d}"}),
        ConsistentRead=True,
    )


def _api_event(token: str, job_id: str, after: int) -> dict[str, Any]:
    text = EVENT.read_text().replace("JOB_ID", job_id).replace("AFTER", str(after))
    event: dict[str, Any] = json.loads(text.replace("TOKEN", token))
    return event


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run(requests: int = REQUESTS) -> list[Figure]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    emulator = start_emulator(None, access_key=os.environ["AWS_ACCESS_KEY_ID"])
    try:
        suffix = uuid.uuid4().hex[:8]
        names = create_resources(
            boto3.session.Session(),
            table_name=f"bench-{suffix}",
            bucket=f"bench-{suffix}",
            prefix=f"bench-{suffix}",
            endpoint_url=emulator.endpoint_url,
            region="us-east-1",
        )
        env = {
            "KILN_TABLE_NAME": names["table"],
            "KILN_BUCKET": names["bucket"],
            "KILN_AWS_ENDPOINT_URL": emulator.endpoint_url,
            "KILN_AWS_REGION": "us-east-1",
        }
        before = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        get_settings.cache_clear()
        try:
            settings = Settings()
            store = Store(settings)
            token, job_id, after = _seed(store)
            return _measure(store, token, job_id, after, requests)
        finally:  # later figures must not reach this emulator once it is stopped
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            get_settings.cache_clear()
    finally:
        emulator.stop()


def _measure(store: Store, token: str, job_id: str, after: int, n: int) -> list[Figure]:
    from kiln.api import routes
    from kiln.api.app import create_app

    raw_client = Store(store.settings).ddb
    status = load_function("status")
    handler = status.handler
    app = create_app(routes.STATUS, settings=store.settings, store=Store(store.settings))
    event = _api_event(token, job_id, after)
    loop = asyncio.new_event_loop()
    asgi = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://kiln.local",
        headers={"Authorization": f"Bearer {token}"},
    )

    def via_asgi() -> None:
        resp = loop.run_until_complete(asgi.get(f"/api/jobs/{job_id}", params={"after": after}))
        if resp.status_code != 200 or len(resp.json()["events"]) != PER_BATCH:
            raise RuntimeError(f"ASGI poll answered {resp.status_code}: {resp.text[:200]}")

    def via_mangum() -> None:
        resp = handler(event, LambdaContext("kiln-status"))
        body = json.loads(resp["body"])
        if resp["statusCode"] != 200 or len(body["events"]) != PER_BATCH:
            raise RuntimeError(f"Mangum poll answered {resp['statusCode']}: {resp['body'][:200]}")

    def via_boto3() -> None:
        _raw_reads(store, raw_client, token, job_id, after)

    paths = {"raw": via_boto3, "asgi": via_asgi, "mangum": via_mangum}
    for fn in paths.values():  # warm-up: connections, the owner cache, lazy imports
        for _ in range(5):
            fn()
    times: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(n):
        for name, fn in paths.items():
            times[name].append(_timed(fn))
    loop.run_until_complete(asgi.aclose())
    loop.close()
    raw = times["raw"]
    raw50, raw95 = percentile(raw, 50), percentile(raw, 95)
    figures = []
    for name, label in (("asgi", "ASGI"), ("mangum", "Mangum + API GW v2 event")):
        t = times[name]
        p50, p95 = percentile(t, 50), percentile(t, 95)
        figures.append(
            figure(
                f"P3-{name}",
                f"status poll p50 via {label} / raw boto3 reads",
                unit="ms",
                samples=t,
                value=p50,
                baseline=raw50,
                goal=f"p50 and p95 <= {MAX_RATIO}x",
                met=p50 / raw50 <= MAX_RATIO and p95 / raw95 <= MAX_RATIO,
                notes="baseline: the one partition query a poll makes (boto3, same emulator)",
                extra={
                    "p95_ms": p95,
                    "raw_p50_ms": raw50,
                    "raw_p95_ms": raw95,
                    "p95_ratio": p95 / raw95,
                    "events_per_poll": PER_BATCH,
                },
            )
        )
    return figures
