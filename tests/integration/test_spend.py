"""The operator's bill: the model allow-list, unknown models priced, not free, the
project budget cap and the global daily ceiling, against a model that speaks OpenAI's
wire format and reports its usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.generate import run_generation
from kiln.spend import record_spend, spent_today
from kiln.store.db import Store, from_item
from tests.fakes.llm_servers import FakeLLMServer

pytestmark = pytest.mark.integration

APP = "export default function App() {\n  return <h1>Todo</h1>;\n}\n"
REPLY = f'<kiln-file path="src/App.tsx">\n{APP}</kiln-file>\n'
M = 1_000_000
OPUS_41 = (15.0, 75.0)  # the most expensive known price, $ per million tokens


class Api:
    def __init__(self, client: TestClient, store: Store) -> None:
        self.client, self.store = client, store

    def generate(self, **body: Any) -> Any:
        return self.client.post("/api/generations", json={"prompt": "a todo app", **body})

    def drain(self) -> list[str]:
        out = []
        queue = self.store.settings.generate_queue_url
        while msgs := self.store.sqs.receive_message(QueueUrl=queue).get("Messages", []):
            out.append(run_generation(self.store, json.loads(msgs[0]["Body"])["job_id"]))
            self.store.sqs.delete_message(QueueUrl=queue, ReceiptHandle=msgs[0]["ReceiptHandle"])
        return out

    def run(self, **body: Any) -> dict[str, Any]:
        resp = self.generate(**body)
        assert resp.status_code == 202, resp.text
        self.drain()
        return self.client.get(f"/api/jobs/{resp.json()['job_id']}").json()  # type: ignore[no-any-return]

    def jobs(self) -> list[dict[str, Any]]:
        items = self.store.ddb.scan(
            TableName=self.store.table,
            FilterExpression="begins_with(PK, :j) AND SK = :m",
            ExpressionAttributeValues={":j": {"S": "JOB#"}, ":m": {"S": "META"}},
        )["Items"]
        return [from_item(i) for i in items]


@contextmanager
def api(model_settings: Settings, **update: Any) -> Iterator[Api]:
    tuned = model_settings.model_copy(update={"build_gate": False, **update})
    store = Store(tuned)
    with TestClient(create_app(routes.ALL, settings=tuned, store=store)) as client:
        client.headers["Authorization"] = "Bearer " + client.post("/api/sessions").json()["token"]
        yield Api(client, store)


def _error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["code"] == code and error["message"]
    return error


# --- the model allow-list ---------------------------------------------------------------


def test_a_model_outside_the_allow_list_is_refused_422_model_not_allowed(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    with api(model_settings) as a:
        error = _error(a.generate(model="gpt-9-ultra-max"), 422, "model_not_allowed")
        assert "gpt-4.1-mini" in error["details"]["allowed"]
        assert a.jobs() == [] and a.drain() == []
        assert a.client.get("/api/projects").json() == []
    assert fake_openai.posts == []


def test_priced_models_and_the_providers_defaults_are_allowed_by_default(
    model_settings: Settings,
) -> None:
    with api(model_settings) as a:
        for model in ("gpt-4.1", "claude-sonnet-4-5", "us.anthropic.claude-haiku-4-5-v1:0"):
            assert a.generate(model=model).status_code == 202, model


def test_the_operators_allow_list_replaces_the_default(model_settings: Settings) -> None:
    with api(model_settings, allowed_models="gpt-4.1-mini, gpt-4o-mini") as a:
        _error(a.generate(model="gpt-4.1"), 422, "model_not_allowed")
        assert a.generate(model="gpt-4o-mini").status_code == 202


def test_an_unpriced_model_the_operator_configured_is_charged_the_highest_known_price(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(REPLY, input_tokens=10_000, output_tokens=2_000)
    with api(model_settings, llm_model="house-model") as a:
        job = a.run()
    assert job["status"] == "succeeded", job
    expected = (10_000 * OPUS_41[0] + 2_000 * OPUS_41[1]) / M
    assert job["usage"]["cost_usd"] == pytest.approx(expected)
    assert job["usage"]["cost_known"] is False


# --- the project budget cap ---------------------------------------------------------------


def test_a_budget_above_the_operators_cap_is_refused_422_budget_above_cap(
    model_settings: Settings,
) -> None:
    with api(model_settings, max_budget_usd=2.0) as a:
        pid = a.run()["project_id"]
        error = _error(
            a.client.patch(f"/api/projects/{pid}", json={"budget_usd": 2.01, "name": "x"}),
            422,
            "budget_above_cap",
        )
        assert error["details"]["max_budget_usd"] == 2.0
        project = a.client.get(f"/api/projects/{pid}").json()
        assert project["budget_usd"] is None and project["name"] != "x"
        ok = a.client.patch(f"/api/projects/{pid}", json={"budget_usd": 2.0})
        assert ok.status_code == 200 and ok.json()["budget_usd"] == 2.0


def test_without_a_budget_of_its_own_a_project_stops_at_the_operators_cap(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    """Clearing the budget does not lift the cap: 10k output tokens of gpt-4.1-mini cost
    $0.016, past a $0.01 cap."""
    with api(model_settings, max_budget_usd=0.01) as a:
        fake_openai.queue_text(REPLY, input_tokens=1_000, output_tokens=10_000)
        first = a.run(model="gpt-4.1-mini")
        assert first["status"] == "succeeded"
        pid = first["project_id"]
        assert (
            a.client.patch(f"/api/projects/{pid}", json={"clear_budget": True}).status_code == 200
        )
        _error(a.generate(project_id=pid), 409, "budget_exceeded")


# --- the daily ceiling ------------------------------------------------------------------


def test_the_daily_ceiling_refuses_new_jobs_for_every_owner_with_429(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(REPLY, input_tokens=100_000, output_tokens=20_000)  # $0.072
    with api(model_settings, daily_spend_usd=0.05) as a:
        assert a.run(model="gpt-4.1-mini")["status"] == "succeeded"
        assert spent_today(a.store) == pytest.approx(0.072)
        resp = a.generate()
        _error(resp, 429, "spend_ceiling_reached")
        assert 1 <= int(resp.headers["retry-after"]) <= 86400
        stranger = a.client.post("/api/sessions").json()["token"]
        again = a.client.post(
            "/api/generations",
            json={"prompt": "another app"},
            headers={"Authorization": f"Bearer {stranger}"},
        )
        _error(again, 429, "spend_ceiling_reached")
        legacy = a.client.post("/api/generate", json={"prompt": "another app"})
        _error(legacy, 429, "spend_ceiling_reached")
        assert len(a.jobs()) == 1
    assert len(fake_openai.posts) == 1


def test_the_daily_ceiling_stops_a_running_job_between_model_requests(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    """The first reply is cut off at the token limit, so the job would ask again; its cost
    so far ($0.072) is past the $0.05 ceiling: it fails, is not retried, keeps version 1."""
    fake_openai.queue_text(REPLY, input_tokens=1_000, output_tokens=1_000)  # v1, $0.002
    with api(model_settings, daily_spend_usd=0.05) as a:
        pid = a.run(model="gpt-4.1-mini")["project_id"]
        fake_openai.queue_text(
            '<kiln-file path="src/App.tsx">\nexport default funct',
            stop="max_tokens",
            input_tokens=100_000,
            output_tokens=20_000,
        )
        resp = a.generate(project_id=pid, prompt="rewrite it", model="gpt-4.1-mini")
        assert resp.status_code == 202
        assert a.drain() == ["failed"]
        job = a.client.get(f"/api/jobs/{resp.json()['job_id']}").json()
        assert job["status"] == "failed" and job["error"]["code"] == "spend_ceiling_reached"
        assert len(fake_openai.posts) == 2  # v1, then one segment; no follow-up request
        assert a.drain() == []  # not requeued
        project = a.client.get(f"/api/projects/{pid}").json()
        assert project["latest_version"] == 1
        assert spent_today(a.store) == pytest.approx(0.002 + 0.072)


def test_spend_is_one_atomic_counter_per_day_with_a_ttl(store: Store) -> None:
    assert record_spend(store, 0.25) == pytest.approx(0.25)
    assert record_spend(store, 0.5) == pytest.approx(0.75)
    items = store.ddb.scan(
        TableName=store.table,
        FilterExpression="begins_with(PK, :s)",
        ExpressionAttributeValues={":s": {"S": "SPEND#"}},
    )["Items"]
    assert len(items) == 1
    item = from_item(items[0])
    assert item["cost_usd"] == pytest.approx(0.75) and item["expires_at"] > 0
