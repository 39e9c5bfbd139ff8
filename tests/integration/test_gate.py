"""The build gate: every generated version is built and rendered, gets a health badge, a
red one gets exactly one fix round, and a red fix leaves the project on its last green
version without charging for the failed round."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.gate.queue import FIX_PROMPT_HEAD, request_build, run_build_job
from kiln.generate import save_version
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from kiln.workers import generation_record
from tests.fakes.gate_support import (
    VANILLA_MISSING_IMPORT,
    VANILLA_OK,
    VANILLA_STILL_BROKEN,
    drain_all,
    drain_queue,
    needs_chromium,
    needs_node,
    queued_bodies,
)
from tests.fakes.llm_servers import FakeLLMServer

pytestmark = [pytest.mark.integration, needs_node]


@pytest.fixture
def model_settings(settings: Settings, fake_openai: FakeLLMServer) -> Settings:
    fake = fake_openai.settings()
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",  # priced, so refunds are visible in dollars
            "openai_base_url": fake.openai_base_url,
            "openai_api_key": fake.openai_api_key,
            "llm_connect_timeout": 2.0,
            "llm_stall_timeout": 5.0,
            "render_check": False,  # the render tests below turn it on
        }
    )


@pytest.fixture
def mstore(model_settings: Settings) -> Store:
    return Store(model_settings)


@pytest.fixture
def mclient(model_settings: Settings, mstore: Store) -> Iterator[TestClient]:
    with TestClient(create_app(routes.ALL, settings=model_settings, store=mstore)) as c:
        token = c.post("/api/sessions").json()["token"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def generate(client: TestClient, store: Store, prompt: str, **body: Any) -> dict[str, Any]:
    """One user prompt, then every job it causes (generation, builds, a fix round)."""
    resp = client.post("/api/generations", json={"prompt": prompt, "framework": "vanilla", **body})
    assert resp.status_code == 202, resp.text
    drain_all(store)
    project: dict[str, Any] = client.get(f"/api/projects/{resp.json()['project_id']}").json()
    return project


def versions(client: TestClient, project_id: str) -> dict[int, dict[str, Any]]:
    return {v["version"]: v for v in client.get(f"/api/projects/{project_id}/versions").json()}


def test_a_version_that_builds_is_green_with_its_health_badge(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_OK)
    project = generate(mclient, mstore, "a greeting")
    v1 = versions(mclient, project["project_id"])[1]
    assert v1["build"] == "green"
    assert v1["health"]["builds"] is True
    assert project["last_green_version"] == 1


@needs_chromium
def test_the_render_check_sees_that_the_page_renders_without_errors(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    store = Store(model_settings.model_copy(update={"render_check": True}))
    with TestClient(create_app(routes.ALL, settings=store.settings, store=store)) as client:
        client.headers["Authorization"] = "Bearer " + client.post("/api/sessions").json()["token"]
        fake_openai.queue_text(VANILLA_OK)
        project = generate(client, store, "a greeting")
        health = versions(client, project["project_id"])[1]["health"]
    assert (health["renders"], health["page_errors"]) == (True, 0)


@needs_chromium
def test_an_app_that_throws_on_load_is_red_with_the_page_error(model_settings: Settings) -> None:
    """A hand-made version, so no fix round follows: only the badge is under test."""
    mstore = Store(model_settings.model_copy(update={"render_check": True}))
    project = projects.create_project(mstore, owner="o", name="t", framework=Framework.vanilla)
    files = {
        "index.html": '<!doctype html><div id="app"></div><script src="main.js"></script>',
        "main.js": "document.querySelector('#app').textContent = 'x';\n"
        "throw new Error('kaboom on load');\n",
    }
    n = save_version(mstore, project["project_id"], files, parent=None, prompt="t", job_id=None)
    job_id = request_build(mstore, project["project_id"], n, "o")
    assert job_id is not None
    assert run_build_job(mstore, job_id) == "succeeded"
    item = projects.get_version_item(mstore, project["project_id"], n)
    assert item["build"] == "red"
    assert item["health"]["page_errors"] == 1
    assert any("kaboom on load" in e["message"] for e in item["build_errors"])


def test_a_red_first_reply_gets_one_fix_round_and_the_project_ends_green(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_MISSING_IMPORT)
    fake_openai.queue_text(VANILLA_OK)
    project = generate(mclient, mstore, "a chart")
    found = versions(mclient, project["project_id"])
    assert (found[1]["build"], found[2]["build"]) == ("red", "green")
    assert found[2]["fix_of"] == 1
    assert project["last_green_version"] == 2


def test_the_fix_prompt_lists_the_build_errors_with_file_and_line(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_MISSING_IMPORT)
    fake_openai.queue_text(VANILLA_OK)
    generate(mclient, mstore, "a chart")
    fix_request = json.dumps(fake_openai.posts[1].json())
    assert FIX_PROMPT_HEAD in fix_request
    assert "src/main.js:2" in fix_request


def test_a_red_fix_leaves_the_project_on_its_last_green_version_uncharged(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_OK)
    project = generate(mclient, mstore, "a greeting")
    spent_before = project["usage"]["cost_usd"]
    assert spent_before > 0
    fake_openai.queue_text(VANILLA_MISSING_IMPORT)
    fake_openai.queue_text(VANILLA_STILL_BROKEN)
    project = generate(mclient, mstore, "add a chart", project_id=project["project_id"])
    found = versions(mclient, project["project_id"])
    assert [(n, found[n]["build"], found[n]["charged"]) for n in sorted(found)] == [
        (1, "green", True),
        (2, "red", False),
        (3, "red", False),
    ]
    assert project["last_green_version"] == 1
    assert project["latest_version"] == 3
    assert project["usage"]["cost_usd"] == pytest.approx(spent_before, abs=1e-12)
    assert project["usage"]["uncharged_usd"] > 0


def test_never_more_than_one_fix_round_per_prompt(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_MISSING_IMPORT)
    fake_openai.queue_text(VANILLA_STILL_BROKEN)
    fake_openai.queue_text(VANILLA_OK)  # would turn it green: must never be asked for
    generate(mclient, mstore, "a chart")
    assert len(fake_openai.posts) == 2


def test_the_failed_rounds_turns_show_they_were_not_charged(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_MISSING_IMPORT)
    fake_openai.queue_text(VANILLA_STILL_BROKEN)
    project = generate(mclient, mstore, "a chart")
    turns = mclient.get(f"/api/projects/{project['project_id']}/turns").json()
    assert [t["charged"] for t in turns] == [False, False]


def test_a_postinstall_script_in_a_generated_package_json_does_not_run(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer, tmp_path: Path
) -> None:
    marker = tmp_path / "postinstall-ran"
    package = {
        "name": "kiln-app",
        "private": True,
        "type": "module",
        "scripts": {"postinstall": f"node -e \"require('fs').writeFileSync('{marker}', 'x')\""},
        "devDependencies": {"vite": "8.3.8"},
    }
    reply = f'<kiln-file path="package.json">\n{json.dumps(package, indent=2)}\n</kiln-file>\n'
    fake_openai.queue_text(VANILLA_OK + reply)
    project = generate(mclient, mstore, "a greeting")
    assert versions(mclient, project["project_id"])[1]["build"] == "green"
    assert not marker.exists()


def test_the_generation_leads_the_client_to_its_build_job(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_OK)
    project = generate(mclient, mstore, "a greeting")
    v1 = mclient.get(f"/api/projects/{project['project_id']}/versions/1").json()
    job = mclient.get(f"/api/jobs/{v1['build_job_id']}").json()
    assert (job["kind"], job["status"], job["version"]) == ("build", "succeeded", 1)


def test_with_the_gate_off_versions_say_unchecked_and_no_build_is_queued(
    model_settings: Settings, fake_openai: FakeLLMServer
) -> None:
    store = Store(model_settings.model_copy(update={"build_gate": False}))
    with TestClient(create_app(routes.ALL, settings=store.settings, store=store)) as client:
        client.headers["Authorization"] = "Bearer " + client.post("/api/sessions").json()["token"]
        fake_openai.queue_text(VANILLA_OK)
        resp = client.post("/api/generations", json={"prompt": "hi", "framework": "vanilla"})
        drain_queue(store, store.settings.generate_queue_url, generation_record)
        found = versions(client, resp.json()["project_id"])
    assert found[1]["build"] == "unchecked"  # not "unknown": the web app would wait for it
    assert found[1].get("build_job_id") is None
    assert queued_bodies(store, store.settings.deploy_queue_url) == []


def test_a_python_project_is_green_without_npm(mstore: Store) -> None:
    project = projects.create_project(mstore, owner="o", name="t", framework=Framework.python)
    files = {"main.py": "print('hi')\n", "requirements.txt": ""}
    n = save_version(mstore, project["project_id"], files, parent=None, prompt="t", job_id=None)
    job_id = request_build(mstore, project["project_id"], n, "o")
    assert job_id is not None
    run_build_job(mstore, job_id)
    assert projects.get_version_item(mstore, project["project_id"], n)["build"] == "green"
    assert projects.get_project(mstore, project["project_id"], None)["last_green_version"] == n


def test_the_next_prompt_after_a_red_fix_builds_on_the_last_green_version(
    mclient: TestClient, mstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(VANILLA_OK)
    project = generate(mclient, mstore, "a greeting")
    fake_openai.queue_text(VANILLA_MISSING_IMPORT)
    fake_openai.queue_text(VANILLA_STILL_BROKEN)
    generate(mclient, mstore, "add a chart", project_id=project["project_id"])
    fake_openai.queue_text(VANILLA_OK)
    project = generate(mclient, mstore, "try again", project_id=project["project_id"])
    latest = versions(mclient, project["project_id"])[4]
    assert latest["parent"] == 1 and latest["build"] == "green"
    assert project["last_green_version"] == 4
