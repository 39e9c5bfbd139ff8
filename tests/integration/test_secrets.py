"""Secrets stay secret: after generations through every provider fake and deploys to every
target fake (with a user token, and a schedule that keeps one), the provider API keys,
the deploy token and the session token appear in no DynamoDB item, no S3 object, no log
record (kiln's, botocore's, httpx's, anything on stdout/stderr) and no API answer."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from fastapi.testclient import TestClient
from pydantic import SecretStr

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.generate import run_generation, save_version
from kiln.local.pump import sqs_event
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from kiln.store.sessions import owner_for_token
from kiln.workers import deploy_record
from tests.fakes.deploy_servers import TOKEN, FakeGitHub, FakeNetlify, FakeVercel
from tests.fakes.llm_servers import TEST_KEY, FakeLLMServer
from tests.fakes.sites_cdn import quick_deploys

pytestmark = pytest.mark.integration

PROVIDERS = ("openai", "anthropic", "ollama", "bedrock")
TARGETS = ("vercel", "netlify", "github", "s3")
SITE = {
    "index.html": '<!doctype html><h1>Hi</h1><script type="module" src="app.js"></script>',
    "app.js": "document.querySelector('h1').textContent = 'Hello'",
}

# A reply that adds a file, so no skeleton file shrinks (which the pipeline would refuse).
REPLY = (
    "I'll add a counter.\n"
    '<kiln-file path="src/Counter.tsx">\n'
    "export function Counter() { return <button>0</button> }\n"
    "</kiln-file>\n"
)


class Recorder:
    """Every API answer of the run, to be scanned afterwards."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.answers: list[str] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        resp = self.client.request(method, url, **kwargs)
        self.answers.append(f"{method} {url} {resp.status_code} {resp.headers} {resp.text}")
        return resp


@pytest.fixture
def every_fake(
    settings: Settings,
    fake_openai: FakeLLMServer,
    fake_anthropic: FakeLLMServer,
    fake_ollama: FakeLLMServer,
    fake_bedrock: FakeLLMServer,
    vercel_fake: FakeVercel,
    netlify_fake: FakeNetlify,
    github_fake: FakeGitHub,
) -> Iterator[Settings]:
    for fake in (fake_openai, fake_anthropic, fake_ollama, fake_bedrock):
        fake.default_text = REPLY
    with quick_deploys(settings) as quick:
        yield settings.model_copy(
            update={
                **quick,
                "llm_provider": "openai",
                "openai_base_url": f"{fake_openai.url}/v1",
                "openai_api_key": SecretStr(TEST_KEY),
                "anthropic_base_url": fake_anthropic.url,
                "anthropic_api_key": SecretStr(TEST_KEY),
                "ollama_host": fake_ollama.url,
                "bedrock_enabled": True,
                "bedrock_endpoint_url": fake_bedrock.url,
                "vercel_api": vercel_fake.url,
                "netlify_api": netlify_fake.url,
                "github_api": github_fake.url,
            }
        )


def _drain(store: Store, queue_url: str, run: Callable[[dict[str, Any]], str]) -> list[str]:
    out = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msgs = store.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get(
            "Messages", []
        )
        if not msgs:
            return out
        out.append(run(msgs[0]))
        store.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msgs[0]["ReceiptHandle"])
    raise TimeoutError(queue_url)


def _deploy(store: Store, message: dict[str, Any]) -> str:
    event = sqs_event("arn:aws:sqs:us-east-1:000000000000:deploy", [message])
    return deploy_record(SQSRecord(event["Records"][0]), store)


def _everything_stored(store: Store) -> str:
    """Every DynamoDB item and every S3 object (every version), as one text."""
    parts: list[str] = []
    for page in store.ddb.get_paginator("scan").paginate(TableName=store.table):
        parts.extend(json.dumps(item) for item in page["Items"])
    versions = store.s3.get_paginator("list_object_versions").paginate(Bucket=store.bucket)
    for page in versions:
        for obj in page.get("Versions", []):
            body = store.s3.get_object(
                Bucket=store.bucket, Key=obj["Key"], VersionId=obj["VersionId"]
            )["Body"].read()
            parts.append(obj["Key"] + "\n" + body.decode("utf-8", "replace"))
    return "\n".join(parts)


def test_keys_and_tokens_appear_in_no_item_object_log_or_answer(
    every_fake: Settings,
    fake_openai: FakeLLMServer,
    fake_anthropic: FakeLLMServer,
    vercel_fake: FakeVercel,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore and httpx at their chattiest
    store = Store(every_fake)
    with TestClient(create_app(routes.ALL, settings=every_fake, store=store)) as client:
        api = Recorder(client)
        session = api("POST", "/api/sessions").json()["token"]
        auth = {"Authorization": f"Bearer {session}"}

        # a generation through every provider
        for provider in PROVIDERS:
            resp = api(
                "POST",
                "/api/generations",
                json={"prompt": "a counter", "framework": "react", "provider": provider},
                headers=auth,
            )
            assert resp.status_code == 202, resp.text
            run = _drain(
                store,
                every_fake.generate_queue_url,
                lambda m: run_generation(store, json.loads(m["Body"])["job_id"]),
            )
            job = api("GET", f"/api/jobs/{resp.json()['job_id']}", headers=auth).json()
            assert run == ["succeeded"], (provider, job.get("error"))
            pid = resp.json()["project_id"]
            api("GET", f"/api/projects/{pid}/versions/1", headers=auth)
            api("GET", f"/api/projects/{pid}/turns", headers=auth)

        # a deploy to every target with the user's token, and a schedule that keeps one
        owner = owner_for_token(store, session)
        assert owner is not None
        site = projects.create_project(store, owner=owner, name="Site", framework=Framework.vanilla)
        save_version(store, site["project_id"], SITE, parent=None, prompt="hi", job_id=None)
        for target in TARGETS:
            body = {"project_id": site["project_id"], "target": target, "token": TOKEN}
            started = api("POST", "/api/deployments", json=body, headers=auth)
            assert started.status_code == 202, started.text
            results = _drain(store, every_fake.deploy_queue_url, lambda m: _deploy(store, m))
            dep = api("GET", f"/api/deployments/{started.json()['deployment_id']}", headers=auth)
            assert dep.json()["state"] == "ready", (target, results, dep.text)
        wrong = api(
            "POST",
            "/api/deployments",
            json={"project_id": site["project_id"], "target": "vercel", "token": TOKEN + "x"},
            headers=auth,
        )
        _drain(store, every_fake.deploy_queue_url, lambda m: _deploy(store, m))
        api("GET", f"/api/deployments/{wrong.json()['deployment_id']}", headers=auth)
        sched_url = f"/api/projects/{site['project_id']}/schedules"
        sched = api(
            "POST",
            sched_url,
            json={"expression": "rate(1 day)", "target": "netlify", "token": TOKEN},
            headers=auth,
        )
        assert sched.status_code == 201, sched.text
        api("GET", sched_url, headers=auth)
        api("GET", "/api/deployments", params={"project_id": site["project_id"]}, headers=auth)
        stored = _everything_stored(store)  # while the schedule still holds its token
        api("DELETE", f"{sched_url}/{sched.json()['schedule_id']}", headers=auth)

    # the secrets really were used: each fake saw its key or token
    assert any(TEST_KEY in str(r.headers) for r in fake_openai.requests)
    assert any(TEST_KEY in str(r.headers) for r in fake_anthropic.requests)
    assert any(TOKEN in str(r.headers) for r in vercel_fake.requests)

    out, err = capfd.readouterr()
    logs = "\n".join([r.getMessage() + " " + repr(r.__dict__) for r in caplog.records] + [out, err])
    answers = "\n".join(api.answers[1:])  # the first answer hands out the session token
    assert stored and logs and answers
    for name, secret in (("provider key", TEST_KEY), ("deploy token", TOKEN)):
        for where, text in (("storage", stored), ("logs", logs), ("answers", answers)):
            assert secret not in text, f"the {name} leaked into {where}"
    for where, text in (("storage", stored), ("logs", logs), ("answers", answers)):
        assert session not in text, f"the session token leaked into {where}"
