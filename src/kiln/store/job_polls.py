"""A poll of a job: the job and its events after a sequence number, read with as little
as a process can get away with (see `poll_job`)."""

from __future__ import annotations

import bisect
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from kiln.errors import NotFound
from kiln.models import ErrorInfo, JobPublic, JobStatus
from kiln.store.db import Store, from_item, to_item
from kiln.store.jobs import MAX_EVENTS, _public, get_job

__all__ = ["poll_job", "public_job"]

# Event batches are written once and finished jobs never change (every write is
# conditional on queued or running), so this process remembers the last jobs it served,
# keyed by (table, job id): polls then read only what is new.
_seen_jobs: OrderedDict[tuple[str, str], _Seen] = OrderedDict()
_SEEN_MAX = 256
_seen_lock = threading.Lock()


@dataclass
class _Seen:
    """What this process has read of one job: every event up to the end of batch `upto`
    (a batch is written once and never changed), and the job once it has finished."""

    upto: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    finished: dict[str, Any] | None = None


def _remembered(key: tuple[str, str]) -> _Seen:
    with _seen_lock:
        seen = _seen_jobs.get(key)
        if seen is not None:
            _seen_jobs.move_to_end(key)
        return seen or _Seen()


def _remember(key: tuple[str, str], seen: _Seen) -> None:
    """Keep `seen` (called under the lock); the least recently polled job makes room."""
    _seen_jobs[key] = seen
    _seen_jobs.move_to_end(key)
    while len(_seen_jobs) > _SEEN_MAX:
        _seen_jobs.popitem(last=False)


def _read_batches(
    store: Store, job_id: str, start: int
) -> tuple[list[dict[str, Any]], int, dict[str, Any] | None, bool]:
    """The partition after batch boundary `start`: (its events, the last batch's end,
    the job item if the page reached it, whether the page was cut short)."""
    resp = store.ddb.query(
        TableName=store.table,
        KeyConditionExpression="PK = :pk AND SK > :after",
        ExpressionAttributeValues=to_item({":pk": f"JOB#{job_id}", ":after": f"EVENT#{start:08d}"}),
        ConsistentRead=True,
    )
    events: list[dict[str, Any]] = []
    end, item = start, None
    for row in resp.get("Items", []):
        if row["SK"]["S"] == "META":
            item = from_item(row)
        elif row["SK"]["S"].startswith("EVENT#"):
            events.extend(json.loads(row["data"]["S"]))
            end = int(row["last"]["N"])
    return events, end, item, "LastEvaluatedKey" in resp


def poll_job(
    store: Store, job_id: str, owner: str, after: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A job and its events after `after`, as a poll needs them: one consistent query of
    the job's partition (its event batches sort before META) that starts after the events
    this process has already read, and no read at all once the job has finished."""
    key = (store.table, job_id)
    seen = _remembered(key)
    with _seen_lock:
        finished, base, known = seen.finished, seen.upto, seen.events
    if finished is not None:
        if finished.get("owner") != owner:
            raise NotFound("job not found")
        return finished, _after(known, after)
    start = base if after <= base else after
    events, end, item, cut = _read_batches(store, job_id, start)
    job = _public(item) if item else get_job(store, job_id) if cut else None
    if job is None or job.get("owner") != owner:
        raise NotFound("job not found")
    if start == base:
        known = known + events  # a new list: others may be reading the remembered one
        with _seen_lock:
            if seen.upto == base:  # no other poll extended it meanwhile
                seen.events, seen.upto = known, end
                _remember(key, seen)
    if JobStatus(job["status"]).finished and not cut:
        # Every batch was written before the job finished, but this query may have read
        # the batches just before META changed, or begun past what is remembered: read on
        # from the remembered end until the last batch is in, once.
        last = int(job.get("last_seq", 0))
        if start != base:
            end = base
        while end < last:
            more, new_end, _, _ = _read_batches(store, job_id, end)
            if new_end == end:
                break
            known, end = known + more, new_end
        if end >= last:
            with _seen_lock:
                seen.events, seen.upto, seen.finished = known, end, job
                _remember(key, seen)
            return job, _after(known, after)
    return job, _after(known if start == base else events, after)


def _after(events: list[dict[str, Any]], after: int) -> list[dict[str, Any]]:
    """The events after sequence number `after` (events are in sequence order)."""
    first = bisect.bisect_right(events, after, key=lambda e: int(e["seq"]))
    return events[first : first + MAX_EVENTS]


def public_job(
    job_id: str, job: dict[str, Any], events: list[dict[str, Any]], after: int
) -> JobPublic:
    """What a client is told of a job: a poll's answer, and what kiln.push sends."""
    error = (
        ErrorInfo(code=job["error_code"], message=job.get("error_message", ""))
        if job.get("error_code")
        else None
    )
    return JobPublic(
        job_id=job_id,
        kind=job["kind"],
        status=job["status"],
        project_id=job.get("project_id"),
        version=job.get("version"),
        provider=job.get("provider"),
        model=job.get("model"),
        notice=job.get("notice"),
        attempt=job.get("attempt", 0),
        events=events,
        next=events[-1]["seq"] if events else after,
        error=error,
        usage=job.get("usage"),
        created_at=job.get("created_at"),
        finished_at=job.get("finished_at"),
        plan=job.get("plan"),
        context=job.get("context"),
    )
