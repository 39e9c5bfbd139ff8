"""Acceptance checks in the gate: the model's checks run in headless Chromium against the
built app; a failed check is a red version whose fix round hears what failed; checks
carry forward; a check cannot leave the app, and a hanging step is cut off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.frameworks import skeleton
from kiln.gate.queue import request_build, run_build_job
from kiln.generate import save_version
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from tests.fakes.checked_apps import reply, todo_main
from tests.fakes.gate_support import drain_all, needs_chromium, needs_node
from tests.fakes.llm_servers import FakeLLMServer

pytestmark = [pytest.mark.integration, needs_node, needs_chromium]


@pytest.fixture
def gate_settings(settings: Settings, fake_openai: FakeLLMServer) -> Settings:
    fake = fake_openai.settings()
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "openai_base_url": fake.openai_base_url,
            "openai_api_key": fake.openai_api_key,
            "render_check": True,
            "render_wait_s": 0.2,
        }
    )


@pytest.fixture
def gstore(gate_settings: Settings) -> Store:
    return Store(gate_settings)


@pytest.fixture
def client(gate_settings: Settings, gstore: Store) -> Iterator[TestClient]:
    with TestClient(create_app(routes.ALL, settings=gate_settings, store=gstore)) as c:
        c.headers["Authorization"] = "Bearer " + c.post("/api/sessions").json()["token"]
        yield c


def generate(client: TestClient, store: Store, prompt: str, **body: Any) -> dict[str, Any]:
    resp = client.post("/api/generations", json={"prompt": prompt, "framework": "vanilla", **body})
    assert resp.status_code == 202, resp.text
    drain_all(store)
    project: dict[str, Any] = client.get(f"/api/projects/{resp.json()['project_id']}").json()
    return project


def versions(client: TestClient, project_id: str) -> dict[int, dict[str, Any]]:
    return {v["version"]: v for v in client.get(f"/api/projects/{project_id}/versions").json()}


def checks_of(client: TestClient, project_id: str, n: int) -> dict[str, Any]:
    resp = client.get(f"/api/projects/{project_id}/versions/{n}/checks")
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


def gate_hand_made(store: Store, files: dict[str, str]) -> dict[str, Any]:
    """Build a version saved by hand (no fix round follows) and return its health."""
    project = projects.create_project(store, owner="o", name="t", framework=Framework.vanilla)
    pid = project["project_id"]
    n = save_version(
        store, pid, {**skeleton(Framework.vanilla), **files}, parent=None, prompt="t", job_id=None
    )
    job_id = request_build(store, pid, n, "o")
    assert job_id is not None
    assert run_build_job(store, job_id) == "succeeded"
    item = projects.get_version_item(store, pid, n)
    return {"build": item["build"], **item["health"], "errors": item.get("build_errors")}


def test_an_app_whose_checks_pass_is_green_with_every_check_passed(
    client: TestClient, gstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply(todo_main()))
    project = generate(client, gstore, "a to-do list")
    v1 = versions(client, project["project_id"])[1]
    assert v1["build"] == "green"
    assert (v1["health"]["checks_passed"], v1["health"]["checks_total"]) == (2, 2)
    assert v1["health"]["checks"] is None  # the polled list carries counts only
    listed = checks_of(client, project["project_id"], 1)
    assert [(c["name"], c["result"]["passed"]) for c in listed["checks"]] == [
        ("adds a task", True),
        ("starts empty", True),
    ]
    assert listed["checks"][0]["steps"][1] == "type 'milk' into the field 'New task'"


def test_a_check_catches_a_real_bug_and_the_fix_round_repairs_it(
    client: TestClient, gstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply(todo_main(bug=True)))
    fake_openai.queue_text(reply(todo_main(), checks="", plan="Plan: read the input first."))
    project = generate(client, gstore, "a to-do list")
    pid = project["project_id"]
    found = versions(client, pid)
    assert (found[1]["build"], found[2]["build"]) == ("red", "green")
    assert project["last_green_version"] == 2
    failed = checks_of(client, pid, 1)["checks"][0]["result"]
    assert (failed["passed"], failed["failed_step"], failed["source"]) == (
        False,
        4,
        'expect role listitem text "milk"',
    )
    assert failed["observed"] == "''"
    assert failed["screenshot"] is True
    png = client.get(f"/api/projects/{pid}/versions/1/checks/0/screenshot.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    fix_request = json.dumps(fake_openai.posts[1].json())
    assert 'the check \\"adds a task\\" failed, step 5' in fix_request
    assert "expected expect 'milk' in a listitem; the page showed ''" in fix_request
    assert checks_of(client, pid, 2)["checks"][0]["result"]["passed"] is True


def test_checks_survive_an_edit_that_does_not_touch_them(
    client: TestClient, gstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply(todo_main()))
    project = generate(client, gstore, "a to-do list")
    edited = todo_main().replace("Add</button>", "Add</button><p>Shopping</p>")
    fake_openai.queue_text(reply(edited, checks="", plan="Plan: a subtitle."))
    project = generate(client, gstore, "add a subtitle", project_id=project["project_id"])
    v2 = checks_of(client, project["project_id"], 2)
    assert [c["name"] for c in v2["checks"]] == ["adds a task", "starts empty"]
    assert all(c["result"]["passed"] for c in v2["checks"])


def test_the_model_can_replace_and_remove_a_check_by_name(
    client: TestClient, gstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply(todo_main()))
    project = generate(client, gstore, "a to-do list")
    renamed = (
        '<kiln-check name="adds a task">\nfill label "New task" with "eggs"\n'
        'click role button "Add"\nexpect text "eggs"\n</kiln-check>\n'
        '<kiln-check name="starts empty"/>\n'
    )
    fake_openai.queue_text(reply(todo_main(), checks=renamed, plan="Plan: eggs."))
    project = generate(client, gstore, "check eggs", project_id=project["project_id"])
    (only,) = checks_of(client, project["project_id"], 2)["checks"]
    assert (only["name"], only["result"]["passed"]) == ("adds a task", True)
    assert 'with "eggs"' in only["body"]


# --- attacks and limits: hand-made versions, so no fix round follows ---------------------


def test_a_check_that_opens_another_origin_or_a_file_is_stopped(gstore: Store) -> None:
    checks = (
        '<kiln-check name="other origin">\nopen http://127.0.0.1:1/\n</kiln-check>\n'
        '<kiln-check name="a file">\nopen file:///etc/passwd\n</kiln-check>\n'
        '<kiln-check name="via a link">\nclick text "away"\nexpect text "root:"\n</kiln-check>\n'
    )
    main = (
        "document.querySelector('#app-main').innerHTML = "
        "'<a href=\"file:///etc/passwd\">away</a>'\n"
        "fetch('http://127.0.0.1:1/steal').catch(() => {})\n"
    )
    health = gate_hand_made(gstore, {"src/main.js": main, "kiln.checks": checks})
    assert health["build"] == "red"
    other, local_file, link = health["checks"]
    assert not other["passed"] and "open takes a path on the app" in other["observed"]
    assert not local_file["passed"] and "open takes a path on the app" in local_file["observed"]
    assert not link["passed"]
    assert "root:x:0:0" not in json.dumps(health)  # /etc/passwd never reached the page


def test_a_request_the_app_makes_to_another_origin_is_aborted_and_reported(gstore: Store) -> None:
    main = (
        "const main = document.querySelector('#app-main')\n"
        "fetch('http://127.0.0.1:1/steal').then(() => { main.textContent = 'leaked' },\n"
        "  () => { main.textContent = 'blocked' })\n"
    )
    checks = '<kiln-check name="loads">\nexpect text "leaked"\n</kiln-check>\n'
    health = gate_hand_made(gstore, {"src/main.js": main, "kiln.checks": checks})
    (check,) = health["checks"]
    assert check["passed"] is False
    assert check["blocked"] == ["http://127.0.0.1:1/steal"]
    assert "blocked" in check["observed"]
    assert "requests blocked" in json.dumps(health["errors"])


def test_a_hanging_step_is_timed_out(gate_settings: Settings) -> None:
    store = Store(gate_settings.model_copy(update={"check_step_timeout_s": 1.0}))
    main = "document.querySelector('#app-main').textContent = 'here'\n"
    checks = '<kiln-check name="waits forever">\nwait text "never shown"\n</kiln-check>\n'
    health = gate_hand_made(store, {"src/main.js": main, "kiln.checks": checks})
    (check,) = health["checks"]
    assert check["passed"] is False
    assert check["observed"].startswith("timed out after 1 s")
    assert "here" in check["observed"]


def test_checks_past_the_versions_time_limit_are_not_run(gate_settings: Settings) -> None:
    store = Store(
        gate_settings.model_copy(update={"check_step_timeout_s": 1.0, "checks_timeout_s": 1.5})
    )
    main = "document.querySelector('#app-main').textContent = 'here'\n"
    checks = "".join(
        f'<kiln-check name="slow {i}">\nwait text "never shown"\n</kiln-check>\n' for i in range(3)
    )
    health = gate_hand_made(store, {"src/main.js": main, "kiln.checks": checks})
    assert [c["passed"] for c in health["checks"]] == [False, False, False]
    assert health["checks"][2]["observed"] == "not run: the version's time for checks ran out"


def test_a_check_that_does_not_parse_fails_with_its_parse_error(gstore: Store) -> None:
    main = "document.querySelector('#app-main').textContent = 'here'\n"
    checks = '<kiln-check name="hovers">\nhover text "here"\n</kiln-check>\n'
    health = gate_hand_made(gstore, {"src/main.js": main, "kiln.checks": checks})
    assert health["build"] == "red"
    assert "line 1: expected open or click" in health["checks"][0]["observed"]
    assert "line 1: expected open or click" in json.dumps(health["errors"])


def test_a_fix_round_that_still_fails_its_checks_leaves_both_rounds_uncharged(
    client: TestClient, gstore: Store, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(reply(todo_main(bug=True)))
    fake_openai.queue_text(reply(todo_main(bug=True), checks="", plan="Plan: try again."))
    project = generate(client, gstore, "a to-do list")
    found = versions(client, project["project_id"])
    assert [(n, found[n]["build"], found[n]["charged"]) for n in sorted(found)] == [
        (1, "red", False),
        (2, "red", False),
    ]
    assert project.get("last_green_version") is None
    assert len(fake_openai.posts) == 2


# --- by hand, through the API (no browser needed to store a check) ------------------------


@pytest.fixture
def hand_project(gate_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    store = Store(gate_settings.model_copy(update={"build_gate": False}))
    with TestClient(create_app(routes.ALL, settings=store.settings, store=store)) as c:
        c.headers["Authorization"] = "Bearer " + c.post("/api/sessions").json()["token"]
        pid = c.post("/api/generations", json={"prompt": "x", "provider": "starter"}).json()[
            "project_id"
        ]
        drain_all(store)
        yield c, pid


def test_a_check_added_edited_and_removed_by_hand_makes_a_version_each(
    hand_project: tuple[TestClient, str],
) -> None:
    client, pid = hand_project
    before = [c["name"] for c in checks_of(client, pid, 1)["checks"]]
    added = client.put(
        f"/api/projects/{pid}/checks",
        json={"base_version": 1, "name": "has a title", "body": 'expect role heading "X"'},
    )
    assert added.status_code == 201, added.text
    assert added.json()["version"] == 2
    assert [c["name"] for c in checks_of(client, pid, 2)["checks"]] == [*before, "has a title"]
    edited = client.put(
        f"/api/projects/{pid}/checks",
        json={
            "base_version": 2,
            "name": "shows the title",
            "body": 'expect role heading "Y"',
            "replaces": "has a title",
        },
    )
    assert edited.json()["version"] == 3
    after = checks_of(client, pid, 3)["checks"]
    assert after[-1]["name"] == "shows the title"
    assert after[-1]["steps"] == ["open /", "expect the heading 'Y'"]
    removed = client.delete(
        f"/api/projects/{pid}/checks/shows the title", params={"base_version": 3}
    )
    assert removed.status_code == 200, removed.text
    assert [c["name"] for c in checks_of(client, pid, 4)["checks"]] == before
    assert [c["name"] for c in checks_of(client, pid, 2)["checks"]] == [*before, "has a title"]


def test_a_hand_written_check_that_does_not_parse_is_refused_with_its_line(
    hand_project: tuple[TestClient, str],
) -> None:
    client, pid = hand_project
    resp = client.put(
        f"/api/projects/{pid}/checks",
        json={"base_version": 1, "name": "bad", "body": "open /\nopen http://evil.test/"},
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "check_invalid"
    assert resp.json()["error"]["message"].startswith("line 2: open takes a path on the app")
    assert client.get(f"/api/projects/{pid}").json()["latest_version"] == 1


def test_a_check_edit_on_a_stale_version_is_a_conflict(
    hand_project: tuple[TestClient, str],
) -> None:
    client, pid = hand_project
    body = {"base_version": 1, "name": "a", "body": 'expect text "a"'}
    assert client.put(f"/api/projects/{pid}/checks", json=body).status_code == 201
    stale = client.put(f"/api/projects/{pid}/checks", json=body)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"


def test_another_owner_cannot_read_or_change_the_checks(
    hand_project: tuple[TestClient, str],
) -> None:
    client, pid = hand_project
    other = {"Authorization": "Bearer " + client.post("/api/sessions").json()["token"]}
    assert client.get(f"/api/projects/{pid}/versions/1/checks", headers=other).status_code == 404
    body = {"base_version": 1, "name": "a", "body": 'expect text "a"'}
    assert client.put(f"/api/projects/{pid}/checks", json=body, headers=other).status_code == 404
    shot = client.get(f"/api/projects/{pid}/versions/1/checks/0/screenshot.png", headers=other)
    assert shot.status_code == 404
