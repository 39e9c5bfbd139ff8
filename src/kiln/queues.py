"""Where a job's message goes: generation jobs to the generate queue, deploy and build jobs
to the deploy queue (the build gate runs where Node is)."""

from __future__ import annotations

import json

from kiln.models import JobKind
from kiln.store.db import Store

__all__ = ["enqueue", "queue_url"]


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
