"""Iterative edits, continuation, repair rounds, budgets and chat history, against a
scripted model that speaks OpenAI's wire format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.llm_servers import FakeLLMServer

pytestmark = pytest.mark.integration

Drain = Callable[[], list[str]]

APP = (
    "export default function App() {\n  return (\n    <main>\n"
    '      <h1 data-testid="app-title">Todo</h1>\n      <p>Nothing yet</p>\n'
    "    </main>\n  );\n}\n"
)


def run(client: TestClient, drain: Drain, **body: Any) -> dict[str, Any]:
    resp = client.post(
        "/api/generations", json={"prompt": "a todo app", "framework": "react", **body}
    )
    assert resp.status_code == 202, resp.text
    drain()
    return client.get(f"/api/jobs/{resp.json()['job_id']}").json()  # type: ignore[no-any-return]


def files(client: TestClient, pid: str, n: int) -> dict[str, str]:
    return client.get(f"/api/projects/{pid}/versions/{n}").json()["files"]  # type: ignore[no-any-return]


@pytest.fixture
def project(mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain) -> str:
    fake_openai.queue_text(
        f'Plan: a todo app.\n<kiln-file path="src/App.tsx">\n{APP}\n</kiln-file>\n'
    )
    job = run(mclient, drain)
    assert job["status"] == "succeeded"
    return str(job["project_id"])


def test_an_edit_is_applied_as_a_targeted_search_replace(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    fake_openai.queue_text(
        'Plan: rename.\n<kiln-edit path="src/App.tsx">\n<<<<<<< SEARCH\n'
        '      <h1 data-testid="app-title">Todo</h1>\n=======\n'
        '      <h1 data-testid="app-title">Tasks</h1>\n>>>>>>> REPLACE\n</kiln-edit>\n'
    )
    job = run(mclient, drain, prompt="rename the title to Tasks", project_id=project)
    assert job["status"] == "succeeded" and job["version"] == 2
    assert files(mclient, project, 2)["src/App.tsx"] == APP.replace(">Todo<", ">Tasks<")
    assert "src/App.tsx" in job["context"]["full_files"]
    assert job["context"]["tokens"] > 0


def test_a_search_that_does_not_match_is_retried_once_by_asking_for_the_whole_file(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    fake_openai.queue_text(
        '<kiln-edit path="src/App.tsx">\n<<<<<<< SEARCH\n<h2>not there</h2>\n=======\n'
        "<h2>x</h2>\n>>>>>>> REPLACE\n</kiln-edit>\n"
    )
    fixed = APP.replace("Nothing yet", "All done")
    fake_openai.queue_text(f'<kiln-file path="src/App.tsx">\n{fixed}\n</kiln-file>\n')
    job = run(mclient, drain, prompt="say all done", project_id=project)
    assert job["status"] == "succeeded"
    assert files(mclient, project, 2)["src/App.tsx"] == fixed
    repair = fake_openai.posts[-1].json()["messages"][-1]["content"]
    assert "did not match" in repair and "Nothing yet" in repair
    assert any(e["type"] == "status" and e["phase"] == "repair" for e in job["events"])


def test_a_search_that_fails_twice_fails_the_job_with_edit_not_found(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    bad = (
        '<kiln-edit path="src/App.tsx">\n<<<<<<< SEARCH\nnope\n=======\nx\n'
        ">>>>>>> REPLACE\n</kiln-edit>\n"
    )
    fake_openai.queue_text(bad)
    fake_openai.queue_text(bad)
    job = run(mclient, drain, prompt="change it", project_id=project)
    assert job["status"] == "failed" and job["error"]["code"] == "edit_not_found"
    assert len(mclient.get(f"/api/projects/{project}/versions").json()) == 1


def test_a_lazy_file_is_asked_for_again_once(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    fake_openai.queue_text(
        '<kiln-file path="src/App.tsx">\nexport default function App() {\n'
        "  // ... rest of the code stays the same\n}\n</kiln-file>\n"
    )
    fake_openai.queue_text(
        f'<kiln-file path="src/App.tsx">\n{APP.replace("Todo", "Done")}\n</kiln-file>\n'
    )
    job = run(mclient, drain, prompt="rename to Done", project_id=project)
    assert job["status"] == "succeeded"
    assert "Done" in files(mclient, project, 2)["src/App.tsx"]
    assert len(fake_openai.posts) == 3


def test_a_reply_cut_at_the_token_limit_is_continued(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    fake_openai.queue_text(
        '<kiln-file path="src/util.ts">\nexport const a = 1;\n</kiln-file>\n'
        '<kiln-file path="src/App.tsx">\nexport default funct',
        stop="max_tokens",
    )
    fake_openai.queue_text(f'<kiln-file path="src/App.tsx">\n{APP}\n</kiln-file>\n')
    job = run(mclient, drain)
    assert job["status"] == "succeeded"
    stored = files(mclient, job["project_id"], 1)
    assert stored["src/App.tsx"] == APP and stored["src/util.ts"] == "export const a = 1;"
    follow = fake_openai.posts[-1].json()["messages"]
    assert follow[-2]["role"] == "assistant" and "cut off" in follow[-1]["content"]
    assert job["usage"]["requests"] == 2


def test_a_budget_stops_a_generation_between_segments(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    resp = mclient.patch(f"/api/projects/{project}", json={"budget_usd": 0.0011})
    assert resp.status_code == 200 and resp.json()["budget_usd"] == 0.0011
    fake_openai.queue_text(
        '<kiln-file path="src/App.tsx">\nexport default funct',
        stop="max_tokens",
        input_tokens=2000,
        output_tokens=2000,
    )
    job = run(mclient, drain, prompt="rewrite it", project_id=project, model="gpt-4.1-mini")
    assert job["status"] == "failed" and job["error"]["code"] == "budget_exceeded"
    assert len(fake_openai.posts) == 2  # the first project version, then one segment


def test_a_spent_budget_refuses_new_generations_up_front(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    mclient.patch(f"/api/projects/{project}", json={"budget_usd": 0})
    resp = mclient.post("/api/generations", json={"prompt": "more", "project_id": project})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "budget_exceeded"


def test_usage_and_cost_are_recorded_per_job_and_per_project(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    fake_openai.queue_text(
        f'<kiln-file path="src/App.tsx">\n{APP}\n</kiln-file>\n',
        input_tokens=1_000_000,
        output_tokens=100_000,
    )
    job = run(mclient, drain, model="gpt-4.1-mini")
    assert job["usage"]["input_tokens"] == 1_000_000
    assert job["usage"]["cost_usd"] > 0 and job["usage"]["cost_known"] is True
    project = mclient.get(f"/api/projects/{job['project_id']}").json()
    assert project["usage"]["cost_usd"] == pytest.approx(job["usage"]["cost_usd"], rel=1e-3)


def test_chat_history_is_kept_and_exported_as_markdown(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, project: str
) -> None:
    fake_openai.queue_text("Plan: nothing to change.\n")
    run(mclient, drain, prompt="is it done?", project_id=project)
    turns = mclient.get(f"/api/projects/{project}/turns").json()
    assert [t["prompt"] for t in turns] == ["is it done?", "a todo app"]
    assert turns[1]["plan"].startswith("Plan: a todo app") and turns[1]["version"] == 1
    md = mclient.get(f"/api/projects/{project}/transcript.md").text
    assert "**You:** a todo app" in md and "**You:** is it done?" in md
    history = fake_openai.posts[-1].json()["messages"]
    assert any(m["content"] == "a todo app" for m in history)


def test_every_provider_generates_then_edits_through_the_pipeline(
    settings: Any, fake_llm: FakeLLMServer
) -> None:
    import json

    from kiln.api import routes
    from kiln.api.app import create_app
    from kiln.generate import run_generation
    from kiln.store.db import Store

    fake = fake_llm.settings()
    s = settings.model_copy(update={k: getattr(fake, k) for k in fake.model_fields_set})
    store = Store(s)

    def drain() -> list[str]:
        out = []
        while msgs := store.sqs.receive_message(QueueUrl=s.generate_queue_url).get("Messages"):
            out.append(run_generation(store, json.loads(msgs[0]["Body"])["job_id"]))
            store.sqs.delete_message(
                QueueUrl=s.generate_queue_url, ReceiptHandle=msgs[0]["ReceiptHandle"]
            )
        return out

    with TestClient(create_app(routes.ALL, settings=s, store=store)) as client:
        client.headers["Authorization"] = "Bearer " + client.post("/api/sessions").json()["token"]
        fake_llm.queue_text(f'Plan: todo.\n<kiln-file path="src/App.tsx">\n{APP}\n</kiln-file>\n')
        first = run(client, drain)
        assert first["status"] == "succeeded", first
        assert first["provider"] == fake_llm.provider and first["usage"]["input_tokens"] == 321
        fake_llm.queue_text(
            '<kiln-edit path="src/App.tsx">\n<<<<<<< SEARCH\n      <p>Nothing yet</p>\n=======\n'
            "      <p>Ready ✓</p>\n>>>>>>> REPLACE\n</kiln-edit>\n"
        )
        second = run(client, drain, prompt="say ready", project_id=first["project_id"])
        assert second["status"] == "succeeded", second
        assert "Ready ✓" in files(client, first["project_id"], 2)["src/App.tsx"]
