"""Settling jobs that no worker will settle: a user's cancel, and the sweeper that fails or
requeues jobs whose worker stopped beating."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from kiln.models import JobKind, JobStatus
from kiln.queues import enqueue
from kiln.store import deployments
from kiln.store import jobs as store_jobs
from kiln.store.db import Store, now

__all__ = ["cancel", "sweep"]

logger = Logger(service="kiln")


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
