"""The batched event sink every worker writes a job's events through.

Events are buffered and written as one item per flush (every ~250 ms or 32 KB), so
the writes a job makes grow with its duration, not with the tokens it streams. The
lease heartbeat rides along at most every few seconds. Each batch, once written, is
posted to the WebSocket connections that follow the job (kiln.push.deliver).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from kiln import push
from kiln.store import connections
from kiln.store import jobs as store_jobs
from kiln.store.db import Store

__all__ = ["Cancelled", "EventSink"]

HEARTBEAT_EVERY_S = 5.0
logger = Logger(service="kiln-worker")


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
                subs = store_jobs.reserve_events(
                    self.store, self.job_id, self.worker, self.seq, self.seq + len(batch)
                )
                store_jobs.append_events(self.store, self.job_id, batch)
                self.seq += len(batch)
                self.writes += 2
                self._post(batch, subs)
            if force_beat or time.monotonic() - self._last_beat >= HEARTBEAT_EVERY_S:
                self._last_beat = time.monotonic()
                self.writes += 1
                if store_jobs.heartbeat(self.store, self.job_id, self.worker):
                    raise Cancelled()

    def _post(self, batch: list[dict[str, Any]], subs: dict[str, Any]) -> None:
        for connection_id in push.deliver(self.store.settings, self.job_id, batch, subs):
            try:
                connections.remove_connection(self.store, connection_id, self.job_id)
            except Exception:
                logger.warning("could not forget a gone connection", extra={"job_id": self.job_id})

    def abandon(self) -> None:
        """Stop the timer without writing: another worker owns the job now."""
        self._stop.set()

    def close(self) -> None:
        """Stop the timer and write what is left."""
        self._stop.set()
        self._timer.join(timeout=5)
        self.flush()
        if self._error and not isinstance(self._error, Cancelled):
            raise self._error
