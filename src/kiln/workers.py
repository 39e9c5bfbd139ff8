"""SQS record handlers and the scheduled tick, shared by Lambda and the local queue pump.

No FastAPI here: worker cold starts stay small.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from kiln.store.db import Store

logger = Logger(service="kiln")


@lru_cache
def default_store() -> Store:
    return Store()


def _job_id(record: SQSRecord) -> str:
    body = json.loads(record.body)
    job_id = body.get("job_id")
    if not isinstance(job_id, str):
        raise ValueError("message without job_id")
    return job_id


def generation_record(record: SQSRecord, store: Store | None = None) -> str:
    from kiln.generate import run_generation

    job_id = _job_id(record)
    logger.append_keys(job_id=job_id)
    try:
        return run_generation(store or default_store(), job_id)
    finally:
        logger.remove_keys(["job_id"])


def deploy_record(record: SQSRecord, store: Store | None = None) -> str:
    if json.loads(record.body).get("kind") == "build":
        from kiln.gate.queue import run_build_job

        return run_build_job(store or default_store(), _job_id(record))
    from kiln.deploy.runner import run_deploy_job

    return str(run_deploy_job(store or default_store(), _job_id(record)))


def scheduled_tick(event: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """EventBridge: `{"task": "sweeper"}` fails or requeues stuck jobs, `{"task": "scheduler"}`
    starts due scheduled deploys; an event without a task (the local tick) does both."""
    from kiln.job_control import sweep

    store = store or default_store()
    task = event.get("task")
    result: dict[str, Any] = {}
    if task in (None, "sweeper"):
        result["sweep"] = sweep(store)
        result["previews"] = _sweep_previews(store)
        result["secrets"] = _sweep_secrets(store)
    if task in (None, "scheduler"):
        from kiln.deploy.schedules import run_due

        result["schedules"] = run_due(store)
    return result


def _sweep_secrets(store: Store) -> int | None:
    """Deploy and schedule tokens that nothing references any more; never blocks the rest."""
    from kiln.store.deployments import sweep_secrets

    try:
        return sweep_secrets(store, grace_s=store.settings.secret_sweep_grace_s)
    except Exception:
        logger.exception("secret sweep failed")
        return None


def _sweep_previews(store: Store) -> int | None:
    """The local stand-in for the bucket's lifecycle rule; never blocks the other tasks."""
    from kiln.preview_links import sweep_expired

    try:
        return sweep_expired(store)
    except Exception:
        logger.exception("preview sweep failed")
        return None
