"""Shared steps of the gate, preview and eval tests: a model server behind the API, and
queue drains that deliver generation and build messages the way the SQS triggers do."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from kiln.local.pump import sqs_event
from kiln.store.db import Store
from kiln.workers import deploy_record, generation_record
from tests.tools import needs

needs_node = needs("node", "npm")
needs_chromium = needs("chromium")

# Plain JavaScript on Vite: the quickest real build, so the gate tests stay lean.
VANILLA_OK = (
    "Plan: a greeting.\n"
    '<kiln-file path="src/main.js">\n'
    "import './style.css'\n"
    "const main = document.querySelector('#app-main')\n"
    "main.textContent = 'gate-ok'\n"
    "</kiln-file>\n"
)
VANILLA_MISSING_IMPORT = (
    "Plan: a chart.\n"
    '<kiln-file path="src/main.js">\n'
    "import './style.css'\n"
    "import { drawChart } from './chart.js'\n"
    "drawChart(document.querySelector('#app-main'))\n"
    "</kiln-file>\n"
)
VANILLA_STILL_BROKEN = (
    "Plan: fix the import.\n"
    '<kiln-file path="src/main.js">\n'
    "import './style.css'\n"
    "import { drawChart } from './charts/index.js'\n"
    "drawChart(document.querySelector('#app-main'))\n"
    "</kiln-file>\n"
)


def drain_queue(store: Store, queue_url: str, handler: Callable[[SQSRecord, Store], str]) -> int:
    """Deliver every message of one queue to its record handler; returns how many."""
    count = 0
    while msgs := store.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get(
        "Messages", []
    ):
        event = sqs_event("arn:aws:sqs:us-east-1:000000000000:q", msgs)
        handler(SQSRecord(event["Records"][0]), store)
        store.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msgs[0]["ReceiptHandle"])
        count += 1
    return count


def drain_all(store: Store) -> None:
    """Run generations and builds until both queues are empty (a fix round re-fills them)."""
    while (
        drain_queue(store, store.settings.generate_queue_url, generation_record)
        + drain_queue(store, store.settings.deploy_queue_url, deploy_record)
        > 0
    ):
        pass


def queued_bodies(store: Store, queue_url: str) -> list[dict[str, Any]]:
    msgs = store.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]
