"""The API in-process (ASGI) with a worker that drains the real SQS queue on moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.generate import run_generation
from kiln.local.pump import sqs_event
from kiln.store.db import Store
from kiln.workers import generation_record
from tests.fakes.llm_servers import FakeLLMServer


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


# --- a scripted fake model (OpenAI wire format) behind the API -------------------------


@pytest.fixture
def model_settings(settings: Settings, fake_openai: FakeLLMServer) -> Settings:
    fake = fake_openai.settings()
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "openai_base_url": fake.openai_base_url,
            "openai_api_key": fake.openai_api_key,
            "llm_connect_timeout": 2.0,
            "llm_stall_timeout": 2.0,
            "max_file_bytes": 2000,
        }
    )


@pytest.fixture
def mstore(model_settings: Settings) -> Store:
    return Store(model_settings)


@pytest.fixture
def mclient(model_settings: Settings, mstore: Store) -> Iterator[TestClient]:
    """A signed-in client of an API whose default model is the `fake_openai` server."""
    with TestClient(create_app(routes.ALL, settings=model_settings, store=mstore)) as c:
        token = c.post("/api/sessions").json()["token"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.fixture
def drain(mstore: Store) -> Callable[[], list[str]]:
    """Run every queued generation through the worker; returns each run's outcome."""

    def run() -> list[str]:
        out = []
        while msgs := mstore.sqs.receive_message(QueueUrl=mstore.settings.generate_queue_url).get(
            "Messages", []
        ):
            out.append(run_generation(mstore, json.loads(msgs[0]["Body"])["job_id"]))
            mstore.sqs.delete_message(
                QueueUrl=mstore.settings.generate_queue_url,
                ReceiptHandle=msgs[0]["ReceiptHandle"],
            )
        return out

    return run
