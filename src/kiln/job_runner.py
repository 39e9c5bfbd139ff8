"""One delivery of a job, the same for every worker: claim it, open its event sink, run the
work, turn what the work raised into the job's end state, and finish it.

    claimed? --no--> "skipped"
       |
     work(job, sink) --returns fields--> succeeded
       |--LeaseLost------------------> "lease_lost" (another worker owns the job; no write)
       |--Detached(result)-----------> result (the work settled the job itself)
       |--Cancelled------------------> cancelled
       |--KilnError------------------> failed with the error's code and message
       +--anything else--------------> failed with `internal_error` (logged, never shown)

`finish` writes the end state; the default is `finish_job`, a worker that settles more
than the job (a deployment, a turn) passes its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from kiln import telemetry
from kiln.errors import KilnError, LeaseLost
from kiln.models import JobStatus
from kiln.sink import Cancelled, EventSink
from kiln.store import jobs as store_jobs
from kiln.store.db import Store

__all__ = ["Detached", "Finish", "Work", "finish_job", "new_worker_id", "run_job"]

logger = Logger(service="kiln")

Work = Callable[[dict[str, Any], EventSink], dict[str, Any]]
Finish = Callable[[Store, dict[str, Any], str, JobStatus, dict[str, Any]], str]


class Detached(Exception):
    """The work settled the job itself (e.g. parked it for a later delivery)."""

    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


def new_worker_id() -> str:
    return "w_" + secrets.token_hex(6)


def finish_job(
    store: Store, job: dict[str, Any], worker: str, status: JobStatus, fields: dict[str, Any]
) -> str:
    try:
        store_jobs.finish_job(store, job["job_id"], worker, status, fields)
    except LeaseLost:
        return "lease_lost"
    return status.value


def run_job(
    store: Store,
    job_id: str,
    work: Work,
    *,
    what: str,
    crash_message: str,
    worker: str | None = None,
    finish: Finish = finish_job,
) -> str:
    """Run one delivery of `job_id`; returns the job's resulting status, or `skipped`,
    `lease_lost`, or what a `Detached` work returned."""
    worker = worker or new_worker_id()
    job = store_jobs.claim_job(store, job_id, worker)
    if job is None:
        logger.info(f"{what} job already claimed or finished", extra={"job_id": job_id})
        return "skipped"
    sink = EventSink(store, job_id, worker, store_jobs.last_event_seq(store, job_id))
    status, fields = JobStatus.failed, {}
    try:
        fields = work(job, sink)
        sink.close()
        status = JobStatus.succeeded
    except LeaseLost:
        logger.warning(f"lease lost; another worker owns the {what}", extra={"job_id": job_id})
        sink.abandon()
        return "lease_lost"
    except Detached as detached:
        return detached.result
    except Cancelled:
        status, fields = JobStatus.cancelled, {}
    except KilnError as exc:
        fields = {"error_code": exc.code, "error_message": exc.message}
        logger.info(f"{what} failed", extra={"job_id": job_id, "code": exc.code})
    except Exception:
        logger.exception(f"{what} crashed", extra={"job_id": job_id})
        fields = {"error_code": "internal_error", "error_message": crash_message}
    if status is not JobStatus.succeeded:
        _close_quietly(sink, job_id)
    result = finish(store, job, worker, status, fields)
    if result == status.value:
        telemetry.job_finished(what, result)
    return result


def _close_quietly(sink: EventSink, job_id: str) -> None:
    """Write what is left of a job that ended badly; the end state matters more."""
    try:
        sink.close()
    except (Cancelled, LeaseLost, KilnError):
        pass
    except Exception:
        logger.exception("could not flush events", extra={"job_id": job_id})
