"""A project as a whole through the API: duplicate it, delete it, and its name following
the app's title when the chat renames the app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.app_titles import follow_app_title
from kiln.deploy.schedules import secret_name
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from kiln.store.sessions import owner_for_token
from tests.integration.test_api import Drain, generate
from tests.integration.test_deployments_api import secret_exists
from tests.integration.test_schedules import project, schedule, settings  # noqa: F401

pytestmark = pytest.mark.integration


def stranger(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}


def files_of(client: TestClient, auth: dict[str, str], pid: str, n: int) -> dict[str, str]:
    resp = client.get(f"/api/projects/{pid}/versions/{n}", headers=auth)
    assert resp.status_code == 200, resp.text
    files: dict[str, str] = resp.json()["files"]
    return files


def listed(client: TestClient, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {p["project_id"]: p for p in client.get("/api/projects", headers=auth).json()}


# --- duplicate ----------------------------------------------------------------------------


def test_a_duplicate_is_a_new_project_of_the_owner_whose_v1_is_the_sources_latest_version(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    source = generate(client, auth, run_worker)["project_id"]
    generate(client, auth, run_worker, prompt="make it green", project_id=source)

    resp = client.post(f"/api/projects/{source}/duplicate", headers=auth, json={})

    assert resp.status_code == 201, resp.text
    copy = resp.json()
    assert copy["project_id"] != source
    assert copy["name"].endswith("(copy)") and copy["latest_version"] == 1
    assert copy["framework"] == "react"
    assert files_of(client, auth, copy["project_id"], 1) == files_of(client, auth, source, 2)
    history = client.get(f"/api/projects/{copy['project_id']}/versions", headers=auth).json()
    assert [(v["version"], v["prompt"]) for v in history] == [(1, history[0]["prompt"])]
    assert "v2" in history[0]["prompt"]
    assert set(listed(client, auth)) == {source, copy["project_id"]}


def test_a_duplicate_can_copy_an_older_version_under_a_name_of_its_own(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    source = generate(client, auth, run_worker)["project_id"]
    generate(client, auth, run_worker, prompt="make it green", project_id=source)

    resp = client.post(
        f"/api/projects/{source}/duplicate", headers=auth, json={"version": 1, "name": " Try B "}
    )

    copy = resp.json()
    assert (resp.status_code, copy["name"]) == (201, "Try B")
    assert files_of(client, auth, copy["project_id"], 1) == files_of(client, auth, source, 1)


def test_a_duplicate_changes_apart_from_its_source(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    source = generate(client, auth, run_worker)["project_id"]
    copy = client.post(f"/api/projects/{source}/duplicate", headers=auth, json={}).json()
    edit = {"base_version": 1, "files": {"src/App.css": "/* only in the copy */"}}

    resp = client.post(f"/api/projects/{copy['project_id']}/versions", headers=auth, json=edit)

    assert resp.status_code == 201, resp.text
    assert (
        files_of(client, auth, copy["project_id"], 2)["src/App.css"] == edit["files"]["src/App.css"]
    )
    assert "only in the copy" not in files_of(client, auth, source, 1)["src/App.css"]
    assert listed(client, auth)[source]["latest_version"] == 1


def test_duplicating_another_owners_project_is_404_not_found_and_copies_nothing(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    source = generate(client, auth, run_worker)["project_id"]
    other = stranger(client)

    resp = client.post(f"/api/projects/{source}/duplicate", headers=other, json={})

    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "not_found")
    assert listed(client, other) == {}


def test_duplicating_a_version_that_does_not_exist_is_404_not_found(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    source = generate(client, auth, run_worker)["project_id"]
    resp = client.post(f"/api/projects/{source}/duplicate", headers=auth, json={"version": 7})
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "not_found")
    assert set(listed(client, auth)) == {source}


def test_duplicating_a_project_without_a_version_is_409_project_empty(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    owner = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    assert owner is not None
    pid = projects.create_project(store, owner=owner, name="Empty", framework=Framework.vue)[
        "project_id"
    ]
    resp = client.post(f"/api/projects/{pid}/duplicate", headers=auth, json={})
    assert (resp.status_code, resp.json()["error"]["code"]) == (409, "project_empty")


# --- delete -------------------------------------------------------------------------------


def test_a_deleted_project_leaves_the_list_and_answers_404_to_every_route(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]

    resp = client.delete(f"/api/projects/{pid}", headers=auth)

    assert resp.status_code == 204, resp.text
    assert pid not in listed(client, auth)
    for method, path, body in [
        ("GET", f"/api/projects/{pid}", None),
        ("GET", f"/api/projects/{pid}/versions/1", None),
        ("PATCH", f"/api/projects/{pid}", {"name": "Back"}),
        ("POST", f"/api/projects/{pid}/duplicate", {}),
        ("POST", "/api/generations", {"prompt": "more", "framework": "react", "project_id": pid}),
        ("DELETE", f"/api/projects/{pid}", None),
    ]:
        answer = client.request(method, path, headers=auth, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), path


def test_deleting_another_owners_project_is_404_not_found_and_keeps_it(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]

    resp = client.delete(f"/api/projects/{pid}", headers=stranger(client))

    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "not_found")
    assert pid in listed(client, auth)
    assert client.get(f"/api/projects/{pid}/versions/1", headers=auth).status_code == 200


def test_deleting_a_project_while_its_generation_waits_is_409_project_busy(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    queued = client.post(
        "/api/generations",
        headers=auth,
        json={"prompt": "make it red", "framework": "react", "project_id": pid},
    ).json()

    resp = client.delete(f"/api/projects/{pid}", headers=auth)

    error = resp.json()["error"]
    assert (resp.status_code, error["code"]) == (409, "project_busy")
    assert error["details"]["job_id"] == queued["job_id"]
    assert "stop it" in error["message"]
    assert pid in listed(client, auth)
    run_worker()
    assert client.delete(f"/api/projects/{pid}", headers=auth).status_code == 204


def test_deleting_a_project_deletes_its_schedules_and_the_tokens_they_keep(
    client: TestClient,
    auth: dict[str, str],
    store: Store,
    project: str,  # noqa: F811
) -> None:
    kept = schedule(client, auth, project)
    name = secret_name(kept["schedule_id"])
    assert secret_exists(store, name)

    resp = client.delete(f"/api/projects/{project}", headers=auth)

    assert resp.status_code == 204, resp.text
    item = store.ddb.get_item(
        TableName=store.table,
        Key={"PK": {"S": f"SCHEDULE#{kept['schedule_id']}"}, "SK": {"S": "META"}},
    )
    assert "Item" not in item
    assert not secret_exists(store, name)


# --- the name follows the app's title -----------------------------------------------------


def test_renaming_the_app_in_chat_renames_the_project(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]

    job = generate(client, auth, run_worker, prompt="call it Budget Buddy", project_id=pid)

    assert job["status"] == "succeeded", job
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == "Budget Buddy"
    assert listed(client, auth)[pid]["name"] == "Budget Buddy"


def test_renaming_a_python_app_in_chat_renames_the_project(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker, framework="python")["project_id"]

    generate(client, auth, run_worker, prompt="call it Plant Diary", project_id=pid)

    assert 'TITLE = "Plant Diary"' in files_of(client, auth, pid, 2)["main.py"]
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == "Plant Diary"


def test_a_name_given_by_hand_stays_when_the_chat_renames_the_app(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    client.patch(f"/api/projects/{pid}", headers=auth, json={"name": "Groceries"})

    generate(client, auth, run_worker, prompt="rename the app to Budget Buddy", project_id=pid)

    assert "Budget Buddy" in files_of(client, auth, pid, 2)["index.html"]
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == "Groceries"


def test_a_name_typed_while_a_generation_ran_wins_over_the_title_it_wrote(
    client: TestClient, auth: dict[str, str], run_worker: Drain, store: Store
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    seen_by_the_worker = projects.get_project(store, pid, None)
    client.patch(f"/api/projects/{pid}", headers=auth, json={"name": "Typed meanwhile"})

    renamed = follow_app_title(
        store,
        seen_by_the_worker,
        {"index.html": "<title>Old</title>"},
        {"index.html": "<title>New title</title>"},
    )

    assert renamed is None
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == "Typed meanwhile"


def test_a_change_that_keeps_the_apps_title_keeps_the_prompt_given_name(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    before = client.get(f"/api/projects/{pid}", headers=auth).json()["name"]

    generate(client, auth, run_worker, prompt="make the header blue", project_id=pid)

    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == before


def test_deleting_a_project_while_its_deploy_waits_is_409_project_busy(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    queued = client.post("/api/deployments", headers=auth, json={"project_id": pid, "target": "s3"})
    assert queued.status_code == 202, queued.text

    resp = client.delete(f"/api/projects/{pid}", headers=auth)

    error = resp.json()["error"]
    assert (resp.status_code, error["code"]) == (409, "project_busy")
    assert "a deploy of this project is running" in error["message"]
    assert pid in listed(client, auth)
