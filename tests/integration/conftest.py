"""The API in-process (ASGI) with a worker that drains the real SQS queue on moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.local.pump import sqs_event
from kiln.store.db import Store
from kiln.workers import generation_record


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(routes.ALL, settings=settings, store=store)) as c:
        yield c


@pytest.fixture
def auth(client: TestClient) -> dict[str, str]:
    token = client.post("/api/sessions").json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def run_worker(store: Store) -> Callable[[], list[str]]:
    """Deliver every queued generation message to the worker, as Lambda's SQS trigger would."""

    def drain() -> list[str]:
        results: list[str] = []
        while True:
            resp = store.sqs.receive_message(
                QueueUrl=store.settings.generate_queue_url, MaxNumberOfMessages=1
            )
            messages: list[dict[str, Any]] = resp.get("Messages", [])
            if not messages:
                return results
            event = sqs_event("arn:aws:sqs:us-east-1:000000000000:generate", messages)
            results.append(generation_record(SQSRecord(event["Records"][0]), store))
            store.sqs.delete_message(
                QueueUrl=store.settings.generate_queue_url,
                ReceiptHandle=messages[0]["ReceiptHandle"],
            )

    return drain
