"""At-least-once delivery and concurrent writers: SQS may deliver a message twice and out
of order, and two editors may save on the same base version. Each job runs exactly once
(the worker's conditional claim), and versions stay linear (conditional writes): the
loser of a race gets 409 `version_conflict` with the current version."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.generate import save_version, start_generation
from kiln.local.pump import sqs_event
from kiln.models import Framework, GenerationRequest
from kiln.store import jobs as store_jobs
from kiln.store import projects
from kiln.store.db import Store
from kiln.store.sessions import create_session
from kiln.workers import generation_record

pytestmark = pytest.mark.integration

JOBS = 100
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:generate"


@pytest.fixture
def busy(settings: Settings) -> Store:
    """A store whose owner may queue 100 jobs at once."""
    return Store(settings.model_copy(update={"daily_job_quota": 10_000, "build_gate": False}))


def _receive_all(store: Store, expected: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while len(messages) < expected:
        batch = store.sqs.receive_message(
            QueueUrl=store.settings.generate_queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=300,
        ).get("Messages", [])
        assert batch, f"the queue held {len(messages)} messages, not {expected}"
        messages.extend(batch)
    return messages


def test_each_message_delivered_twice_out_of_order_runs_exactly_once(busy: Store) -> None:
    _, owner = create_session(busy)
    accepted = [
        start_generation(
            busy, owner, GenerationRequest(prompt=f"app {i}", framework=Framework.vanilla)
        )
        for i in range(JOBS)
    ]
    messages = _receive_all(busy, JOBS)
    # every message twice, shuffled: some copies race each other, some come after the run
    deliveries = [m for m in messages for _ in range(2)]
    random.Random(10).shuffle(deliveries)

    def deliver(message: dict[str, Any]) -> str:
        record = SQSRecord(sqs_event(QUEUE_ARN, [message])["Records"][0])
        return generation_record(record, busy)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(deliver, deliveries))

    assert Counter(outcomes) == {"succeeded": JOBS, "skipped": JOBS}
    for job in accepted:
        item = store_jobs.get_job(busy, job.job_id)
        assert item["status"] == "succeeded" and item["attempt"] == 1
        versions = projects.list_versions(busy, job.project_id)
        assert [v["version"] for v in versions] == [1], job.project_id


def _edit(client: TestClient, pid: str, base: int, who: int) -> Any:
    return client.post(
        f"/api/projects/{pid}/versions",
        json={"base_version": base, "files": {"index.html": f"<p>editor {who}</p>"}},
    )


def test_concurrent_hand_edits_on_one_base_keep_versions_linear(
    settings: Settings, store: Store
) -> None:
    rounds, editors = 5, 6
    with TestClient(create_app(routes.ALL, settings=settings, store=store)) as client:
        token, owner = create_session(store)
        client.headers["Authorization"] = f"Bearer {token}"
        pid = projects.create_project(
            store, owner=owner, name="Shared", framework=Framework.vanilla
        )["project_id"]
        save_version(store, pid, {"index.html": "<p>v1</p>"}, parent=None, prompt="p", job_id=None)
        for base in range(1, rounds + 1):
            start = threading.Barrier(editors)

            def edit(who: int, base: int = base, start: threading.Barrier = start) -> Any:
                start.wait()
                return _edit(client, pid, base, who)

            with ThreadPoolExecutor(max_workers=editors) as pool:
                answers = list(pool.map(edit, range(editors)))
            statuses = Counter(a.status_code for a in answers)
            assert statuses == {201: 1, 409: editors - 1}, [a.text for a in answers]
            for loser in (a for a in answers if a.status_code == 409):
                error = loser.json()["error"]
                assert error["code"] == "version_conflict"
                assert error["details"]["current_version"] == base + 1
        versions = sorted(projects.list_versions(store, pid), key=lambda v: v["version"])
        assert [v["version"] for v in versions] == list(range(1, rounds + 2))
        assert [v.get("parent") for v in versions] == [None, *range(1, rounds + 1)]
        assert projects.get_project(store, pid, owner)["latest_version"] == rounds + 1


def test_a_stale_base_version_is_refused_with_the_current_version(
    settings: Settings, store: Store
) -> None:
    with TestClient(create_app(routes.ALL, settings=settings, store=store)) as client:
        token, owner = create_session(store)
        client.headers["Authorization"] = f"Bearer {token}"
        pid = projects.create_project(
            store, owner=owner, name="Stale", framework=Framework.vanilla
        )["project_id"]
        save_version(store, pid, {"index.html": "1"}, parent=None, prompt="p", job_id=None)
        assert _edit(client, pid, 1, 0).status_code == 201
        stale = _edit(client, pid, 1, 1)
        assert stale.status_code == 409
        assert stale.json()["error"]["details"] == {"current_version": 2}
