"""A client written to the original interface, without a token: `/ws/{session_id}`,
`POST /api/generate` and `POST /api/deploy`, against the fake OpenAI server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.frameworks import legacy_paths
from kiln.local.server import LocalStack, asgi_app
from kiln.models import Framework
from kiln.store.db import Store
from tests.fakes.llm_servers import FakeLLMServer

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "original"
CONTEXT = {"user": "Ada Lovelace", "currency": "EUR"}


def reply(framework: str) -> str:
    """What a model asked for the original single-file layout answers (shared with e2e)."""
    return (FIXTURES / f"{framework}.txt").read_text()


EDIT = """Make the title say "Counter v2".
<kiln-edit path="src/App.tsx">
<<<<<<< SEARCH
      <Title text="Original counter (react)" />
=======
      <Title text="Counter v2" />
>>>>>>> REPLACE
</kiln-edit>
"""


@pytest.fixture
def stack(
    model_settings: Settings, mstore: Store, tmp_path: Path, drain: Callable[[], list[str]]
) -> Iterator[TestClient]:
    """kiln dev's ASGI app (the three function apps and /ws) with a worker draining the
    generation queue in the background."""
    apps = {
        name: create_app(getattr(routes, name.upper()), settings=model_settings, store=mstore)
        for name in ("generate", "status", "deploy")
    }
    stop = threading.Event()

    def pump() -> None:
        while not stop.wait(0.05):
            drain()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    with TestClient(asgi_app(LocalStack(settings=model_settings, apps=apps), tmp_path)) as c:
        yield c
    stop.set()
    thread.join()


def until_done(ws: WebSocketTestSession) -> list[dict[str, Any]]:
    messages = []
    while True:
        message = ws.receive_json()
        messages.append(message)
        if message["type"] == "error" or message.get("status") == "completed":
            return messages


def last_user_message(fake: FakeLLMServer) -> str:
    return str(fake.posts[-1].json()["messages"][-1]["content"])


def test_context_set_with_update_context_reaches_the_models_request(
    stack: TestClient, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply("react"))
    with stack.websocket_connect(f"/ws/{uuid.uuid4()}") as ws:
        assert ws.receive_json()["type"] == "session"
        ws.send_json({"type": "update_context", "context": CONTEXT})
        assert ws.receive_json() == {"type": "context_updated", "context": CONTEXT}
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": "react"})
        assert until_done(ws)[-1]["status"] == "completed"
    sent = last_user_message(fake_openai)
    assert "<client-context>" in sent and "Ada Lovelace" in sent and "EUR" in sent


def test_context_sent_with_the_message_reaches_the_models_request(
    stack: TestClient, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply("vue"))
    with stack.websocket_connect(f"/ws/{uuid.uuid4()}") as ws:
        ws.receive_json()
        ws.send_json(
            {
                "type": "generate_code",
                "prompt": "a counter",
                "framework": "vue",
                "context": "the user prefers purple",
            }
        )
        until_done(ws)
    assert "the user prefers purple" in last_user_message(fake_openai)


def test_the_first_status_says_generating_and_streamed_status_events_carry_status(
    stack: TestClient, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply("react"))
    with stack.websocket_connect(f"/ws/{uuid.uuid4()}") as ws:
        ws.receive_json()
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": "react"})
        messages = until_done(ws)
    statuses = [m for m in messages if m["type"] == "status"]
    assert statuses[0]["status"] == "generating"
    assert all("status" in m for m in statuses)
    assert statuses[-1]["status"] == "completed"


@pytest.mark.parametrize("framework", ["react", "vue", "vanilla"])
def test_the_legacy_surface_asks_for_the_single_file_layout_and_code_is_the_whole_app(
    stack: TestClient, fake_openai: FakeLLMServer, framework: str
) -> None:
    fake_openai.queue_text(reply(framework))
    with stack.websocket_connect(f"/ws/{uuid.uuid4()}") as ws:
        ws.receive_json()
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": framework})
        done = next(m for m in until_done(ws) if m["type"] == "code_generated")
    system = str(fake_openai.posts[-1].json()["messages"][0]["content"])
    paths = legacy_paths(Framework(framework))
    assert "exactly five files" in system and all(p in system for p in paths.values())
    code, files = done["code"], done["files"]
    assert all(code[key].strip() for key in ("app", "main", "html", "css", "js"))
    sources = {p for p in files if p.endswith((".ts", ".tsx", ".js", ".vue", ".css", ".html"))}
    sources -= {"vite.config.ts", "src/env.d.ts"}
    assert sources == set(paths.values()), "the five keys must be every source file"


def test_reconnecting_with_the_session_id_continues_the_same_project_and_context(
    stack: TestClient, fake_openai: FakeLLMServer
) -> None:
    session = f"/ws/{uuid.uuid4()}"
    fake_openai.queue_text(reply("react"))
    with stack.websocket_connect(session) as ws:
        hello = ws.receive_json()
        assert hello["token"].startswith("kiln_")
        ws.send_json({"type": "update_context", "context": CONTEXT})
        ws.receive_json()
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": "react"})
        first = next(m for m in until_done(ws) if m["type"] == "code_generated")
    fake_openai.queue_text(EDIT)
    with stack.websocket_connect(session) as ws:
        again = ws.receive_json()
        assert again["project_id"] == first["project_id"] and again["context"] == CONTEXT
        assert "token" not in again, "a token is handed back once, when it is made"
        ws.send_json(
            {"type": "generate_code", "prompt": "call it Counter v2", "framework": "react"}
        )
        second = next(m for m in until_done(ws) if m["type"] == "code_generated")
    assert second["project_id"] == first["project_id"] and second["version"] == 2
    assert "Counter v2" in second["code"]["app"] and "label(count)" in second["code"]["app"]
    sent = last_user_message(fake_openai)
    assert "Ada Lovelace" in sent and "Change request: call it Counter v2" in sent
    projects = stack.get("/api/projects", headers={"Authorization": f"Bearer {hello['token']}"})
    assert [p["project_id"] for p in projects.json()] == [first["project_id"]]


def test_a_session_id_held_by_another_owner_is_refused_with_session_taken(
    stack: TestClient,
) -> None:
    session = f"/ws/{uuid.uuid4()}"
    with stack.websocket_connect(session) as ws:
        ws.receive_json()
    other = stack.post("/api/sessions").json()["token"]
    with stack.websocket_connect(f"{session}?token={other}") as ws:
        message = ws.receive_json()
    assert message["type"] == "error" and message["code"] == "session_taken"


def test_a_guessable_session_id_is_refused(stack: TestClient) -> None:
    with stack.websocket_connect("/ws/s1") as ws:
        message = ws.receive_json()
    assert message["type"] == "error" and message["code"] == "invalid_session_id"


def test_context_over_the_bound_is_refused_and_makes_no_job(
    stack: TestClient, mstore: Store
) -> None:
    big = "x" * (mstore.settings.max_context_chars + 1)
    with stack.websocket_connect(f"/ws/{uuid.uuid4()}") as ws:
        ws.receive_json()
        ws.send_json({"type": "generate_code", "prompt": "a counter", "context": big})
        message = ws.receive_json()
        ws.send_json({"type": "update_context", "context": big})
        updated = ws.receive_json()
    assert message["code"] == updated["code"] == "context_too_long"
    assert not mstore.ddb.scan(
        TableName=mstore.table,
        FilterExpression="begins_with(PK, :j)",
        ExpressionAttributeValues={":j": {"S": "JOB#"}},
    )["Items"]


# --- REST: POST /api/generate and POST /api/generations --------------------------------


def test_a_token_less_generate_hands_back_a_token_that_reads_its_job_and_project(
    stack: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply("vanilla"))
    mstore.settings.sync_wait_s = 0.0
    resp = stack.post("/api/generate", json={"prompt": "a counter", "framework": "vanilla"})
    assert resp.status_code == 202
    body = resp.json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    job = stack.get(body["status_url"], headers=auth)
    assert job.status_code == 200 and job.json()["project_id"] == body["project_id"]
    listed = stack.get("/api/projects", headers=auth).json()
    assert [p["project_id"] for p in listed] == [body["project_id"]]


def test_generate_with_a_session_id_continues_the_project_across_calls(
    stack: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    session_id = str(uuid.uuid4())
    fake_openai.queue_text(reply("react"))
    fake_openai.queue_text(EDIT)
    first = stack.post(
        "/api/generate",
        json={"prompt": "a counter", "session_id": session_id, "context": CONTEXT},
    ).json()
    second = stack.post(
        "/api/generate", json={"prompt": "call it Counter v2", "session_id": session_id}
    ).json()
    assert first["success"] and second["success"], (first, second)
    assert second["project_id"] == first["project_id"] and second["version"] == 2
    assert "token" in first and "token" not in second
    assert "Ada Lovelace" in last_user_message(fake_openai)


def test_context_of_api_generations_reaches_the_model_and_the_jobs_recorded_context(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Callable[[], list[str]]
) -> None:
    fake_openai.queue_text(reply("react"))
    job = mclient.post(
        "/api/generations", json={"prompt": "a counter", "context": {"plan": "pro tier"}}
    ).json()
    assert drain() == ["succeeded"]
    assert "pro tier" in last_user_message(fake_openai)
    recorded = mclient.get(job["status_url"]).json()["context"]
    assert recorded["client_context_tokens"] > 0
    assert "pro tier" in recorded["client_context"]


def test_an_invalid_token_is_refused_not_replaced_by_a_new_owner(stack: TestClient) -> None:
    resp = stack.post(
        "/api/generate", json={"prompt": "x"}, headers={"Authorization": "Bearer nope"}
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


def test_the_provider_name_local_generates_with_the_local_ollama_model(
    settings: Settings, tmp_path: Path, fake_ollama: FakeLLMServer
) -> None:
    tuned = settings.model_copy(update={"ollama_host": fake_ollama.url, "sync_wait_s": 0.0})
    fake_ollama.queue_text(reply("vanilla"))
    store = Store(tuned)
    with TestClient(create_app(routes.ALL, settings=tuned, store=store)) as client:
        body = client.post(
            "/api/generate",
            json={"prompt": "a counter", "framework": "vanilla", "provider": "local"},
        ).json()
        assert body["provider"] == "ollama"
        from kiln.generate import run_generation

        assert run_generation(store, body["job_id"]) == "succeeded"
    assert fake_ollama.posts and fake_ollama.posts[-1].path == "/api/chat"
