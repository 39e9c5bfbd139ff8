"""Job lifecycle shared by every worker: enqueue, the batched event sink, and the sweeper.

Events are buffered and written as one item per flush (every ~250 ms or 32 KB), so
the writes a job makes grow with its duration, not with the tokens it streams. The
lease heartbeat rides along at most every few seconds.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from kiln.errors import LeaseLost
from kiln.models import JobKind, JobStatus
from kiln.store import deployments
from kiln.store import jobs as store_jobs
from kiln.store.db import Store, now

logger = Logger(service="kiln")

HEARTBEAT_EVERY_S = 5.0


def cancel(store: Store, job_id: str, owner: str) -> str:
    """Cancel any job for its owner. A deploy that no worker runs (queued, or parked between
    polls) is settled here, since no worker will: its deployment becomes `cancelled` and the
    token kiln stored for it is deleted."""
    status = store_jobs.request_cancel(store, job_id, owner)
    did = store_jobs.get_job(store, job_id, owner).get("deployment_id")
    if status == JobStatus.cancelled and did:
        deployments.cancel_unstarted(store, did)
        if deployments.get_deployment(store, did).get("token_owned"):
            deployments.delete_secret(store, deployments.deploy_secret_name(did))
    return status


def queue_url(store: Store, kind: JobKind) -> str:
    return (
        store.settings.deploy_queue_url
        if kind in (JobKind.deploy, JobKind.build)  # build: the gate runs where Node is
        else store.settings.generate_queue_url
    )


def enqueue(store: Store, kind: JobKind, job_id: str, delay_s: int = 0) -> None:
    store.sqs.send_message(
        QueueUrl=queue_url(store, kind),
        MessageBody=json.dumps({"job_id": job_id, "kind": kind.value}),
        DelaySeconds=delay_s,
    )


class Cancelled(Exception):
    """The user cancelled the job; the worker stops at the next flush."""


class EventSink:
    """Buffers events, numbers them when it flushes (by time or size, from a background
    timer), and writes each batch as one item after reserving its numbers in the job."""

    def __init__(self, store: Store, job_id: str, worker: str, start_seq: int) -> None:
        self.store = store
        self.job_id = job_id
        self.worker = worker
        self.seq = start_seq
        self.interval = store.settings.flush_interval_s
        self.max_bytes = store.settings.flush_bytes
        self._buf: list[dict[str, Any]] = []
        self._size = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._last_beat = time.monotonic()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self.stopped = threading.Event()
        """Set once the background flush found a cancel or a lost lease: work that does not
        add events for a while (a build) watches it to stop at once."""
        self._timer = threading.Thread(target=self._run, daemon=True, name=f"sink-{job_id}")
        self.writes = 0
        self._timer.start()

    def check(self) -> None:
        """Raise what the background flush found: `Cancelled`, `LeaseLost` or a write error."""
        if self._error:
            raise self._error

    def add(self, event: BaseModel | dict[str, Any]) -> None:
        """Buffer an event; consecutive chunks of one file travel as one event."""
        self.check()
        data = event.model_dump() if isinstance(event, BaseModel) else dict(event)
        with self._lock:
            last = self._buf[-1] if self._buf else None
            if (
                last is not None
                and data.get("type") == "file_chunk" == last.get("type")
                and data.get("path") == last.get("path")
            ):
                last["text"] += data["text"]
            else:
                self._buf.append(data)
                self._size += 64
            self._size += len(data.get("text", ""))
            full = self._size >= self.max_bytes
        if full:
            self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except BaseException as exc:  # surfaced to the producer on its next add()
                self._error = exc
                self.stopped.set()
                return

    def flush(self, *, force_beat: bool = False) -> None:
        with self._write_lock:
            with self._lock:
                batch, self._buf, self._size = self._buf, [], 0
            if batch:
                for i, event in enumerate(batch, start=self.seq + 1):
                    event["seq"] = i
                store_jobs.reserve_events(
                    self.store, self.job_id, self.worker, self.seq, self.seq + len(batch)
                )
                store_jobs.append_events(self.store, self.job_id, batch)
                self.seq += len(batch)
                self.writes += 2
            if force_beat or time.monotonic() - self._last_beat >= HEARTBEAT_EVERY_S:
                self._last_beat = time.monotonic()
                self.writes += 1
                if store_jobs.heartbeat(self.store, self.job_id, self.worker):
                    raise Cancelled()

    def close(self) -> None:
        """Stop the timer and write what is left."""
        self._stop.set()
        self._timer.join(timeout=5)
        self.flush()
        if self._error and not isinstance(self._error, Cancelled):
            raise self._error


def sweep(store: Store, *, requeue: bool = True, cutoff_s: float | None = None) -> dict[str, int]:
    """Fail or requeue running jobs whose heartbeat is older than the timeout; resend
    messages for queued jobs that nobody picked up (e.g. lost in a local restart).
    `cutoff_s=0` treats every active job as stale: the local stack does that at start."""
    age = store.settings.heartbeat_timeout_s if cutoff_s is None else cutoff_s
    cutoff = now() - age
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    for job in store_jobs.stale_jobs(store, cutoff):
        kind = JobKind(job.get("kind", "generate"))
        hb = job["heartbeat_at"]
        if job["status"] == "queued":
            if job.get("attempt", 0) >= store.settings.max_attempts:
                if store_jobs.fail_stale_job(
                    store, job["job_id"], hb, "worker_lost", "the job could not be started"
                ):
                    counts["failed"] += 1
            elif store_jobs.touch_queued(store, job["job_id"], hb):
                enqueue(store, kind, job["job_id"])
                counts["resent"] += 1
        elif job["status"] == "running":
            if requeue and job.get("attempt", 0) < store.settings.max_attempts:
                if store_jobs.requeue_job(store, job["job_id"], hb):
                    enqueue(store, kind, job["job_id"])
                    counts["requeued"] += 1
            elif store_jobs.fail_stale_job(
                store,
                job["job_id"],
                hb,
                "worker_lost",
                "the worker stopped responding; your previous version is unchanged",
            ):
                counts["failed"] += 1
    if any(counts.values()):
        logger.info("swept stale jobs", extra=counts)
    return counts


__all__ = ["Cancelled", "EventSink", "LeaseLost", "enqueue", "sweep"]
