"""The HTTP API through the real ASGI app, with the worker draining the real queue."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

Drain = Callable[[], list[str]]


def generate(client: TestClient, auth: dict[str, str], drain: Drain, **body: Any) -> dict[str, Any]:
    resp = client.post(
        "/api/generations",
        headers=auth,
        json={"prompt": "a todo list", "framework": "react", **body},
    )
    assert resp.status_code == 202, resp.text
    drain()
    job = client.get(f"/api/jobs/{resp.json()['job_id']}", headers=auth).json()
    return job  # type: ignore[no-any-return]


def test_a_generation_streams_files_and_ends_in_a_stored_version(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    job = generate(client, auth, run_worker)
    assert job["status"] == "succeeded" and job["version"] == 1
    types = [e["type"] for e in job["events"]]
    assert types.count("file_start") == types.count("file_end") > 0
    version = client.get(f"/api/projects/{job['project_id']}/versions/1", headers=auth).json()
    assert "package.json" in version["files"] and "src/App.tsx" in version["files"]
    streamed = "".join(
        e["text"] for e in job["events"] if e["type"] == "file_chunk" and e["path"] == "src/App.tsx"
    )
    assert streamed == version["files"]["src/App.tsx"]


def test_the_starter_says_it_is_not_a_model(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    resp = client.post(
        "/api/generations", headers=auth, json={"prompt": "a timer", "framework": "vanilla"}
    )
    assert "not an AI model" in resp.json()["notice"]
    run_worker()
    job = client.get(f"/api/jobs/{resp.json()['job_id']}", headers=auth).json()
    assert "not an AI model" in job["notice"]


def test_polling_after_a_sequence_number_returns_only_newer_events(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    job = generate(client, auth, run_worker)
    half = job["events"][len(job["events"]) // 2]["seq"]
    later = client.get(f"/api/jobs/{job['job_id']}?after={half}", headers=auth).json()
    assert [e["seq"] for e in later["events"]] == [
        e["seq"] for e in job["events"] if e["seq"] > half
    ]
    assert later["next"] == job["events"][-1]["seq"]


def test_an_edit_builds_a_new_version_on_the_previous_one(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    first = generate(client, auth, run_worker)
    second = generate(
        client, auth, run_worker, prompt="make the header blue", project_id=first["project_id"]
    )
    assert second["status"] == "succeeded" and second["version"] == 2
    versions = client.get(f"/api/projects/{first['project_id']}/versions", headers=auth).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["parent"] == 1


def test_the_archive_holds_every_file_of_the_version(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    job = generate(client, auth, run_worker)
    pid = job["project_id"]
    files = client.get(f"/api/projects/{pid}/versions/1", headers=auth).json()["files"]
    resp = client.get(f"/api/projects/{pid}/versions/1/archive.zip", headers=auth)
    assert resp.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        unzipped = {n.split("/", 1)[1]: zf.read(n).decode() for n in zf.namelist()}
    assert unzipped == files


def test_hand_edits_make_a_new_version_and_a_stale_base_conflicts(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    body = {
        "base_version": 1,
        "files": {"src/extra.ts": "export const x = 1;\n"},
        "deleted": ["src/App.css"],
    }
    resp = client.post(f"/api/projects/{pid}/versions", headers=auth, json=body)
    assert resp.status_code == 201 and resp.json()["version"] == 2
    files = client.get(f"/api/projects/{pid}/versions/2", headers=auth).json()["files"]
    assert files["src/extra.ts"] == "export const x = 1;\n" and "src/App.css" not in files
    stale = client.post(f"/api/projects/{pid}/versions", headers=auth, json=body)
    assert stale.status_code == 409
    assert stale.json()["error"] == {
        "code": "version_conflict",
        "message": stale.json()["error"]["message"],
        "details": {"current_version": 2},
    }


def test_a_duplicate_delivery_runs_the_job_once(
    client: TestClient, auth: dict[str, str], run_worker: Drain, store: Any
) -> None:
    resp = client.post(
        "/api/generations", headers=auth, json={"prompt": "notes", "framework": "vue"}
    )
    job_id = resp.json()["job_id"]
    from kiln.models import JobKind
    from kiln.queues import enqueue

    enqueue(store, JobKind.generate, job_id)
    assert sorted(run_worker()) == ["skipped", "succeeded"]
    versions = client.get(
        f"/api/projects/{resp.json()['project_id']}/versions", headers=auth
    ).json()
    assert len(versions) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"prompt": "", "framework": "react"}, 422, "prompt_empty"),
        ({"prompt": "   ", "framework": "react"}, 422, "prompt_empty"),
        ({"prompt": "x" * 20_001, "framework": "react"}, 413, "prompt_too_long"),
        ({"prompt": "a todo list", "framework": "svelte"}, 422, "validation_error"),
        ({"prompt": "a todo list", "provider": "gpt-nope"}, 400, "unknown_provider"),
        ({"prompt": "a todo list", "project_id": "p_doesnotexist"}, 404, "not_found"),
        ({"framework": "react"}, 422, "validation_error"),
    ],
)
def test_bad_generation_requests_get_a_stable_error_code(
    client: TestClient, auth: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    resp = client.post("/api/generations", headers=auth, json=body)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code
    assert "Traceback" not in resp.text


def test_malformed_json_is_a_400(client: TestClient, auth: dict[str, str]) -> None:
    resp = client.post(
        "/api/generations",
        headers={**auth, "content-type": "application/json"},
        content=b'{"prompt": "x",',
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"


def test_an_oversized_body_is_a_413(client: TestClient, auth: dict[str, str]) -> None:
    resp = client.post(
        "/api/generations", headers=auth, json={"prompt": "x", "context": "y" * 3_000_000}
    )
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_a_missing_or_wrong_token_is_a_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    resp = client.get("/api/projects", headers=headers)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


def test_another_owners_job_and_project_are_not_found(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    job = generate(client, auth, run_worker)
    other = {"Authorization": "Bearer " + client.post("/api/sessions").json()["token"]}
    pid = job["project_id"]
    for path in (
        f"/api/jobs/{job['job_id']}",
        f"/api/projects/{pid}",
        f"/api/projects/{pid}/versions",
        f"/api/projects/{pid}/versions/1",
        f"/api/projects/{pid}/versions/1/archive.zip",
    ):
        resp = client.get(path, headers=other)
        assert resp.status_code == 404, path
        assert resp.json()["error"]["code"] == "not_found"
    assert client.get("/api/projects", headers=other).json() == []
    resp = client.post(
        f"/api/projects/{pid}/versions", headers=other, json={"base_version": 1, "files": {}}
    )
    assert resp.status_code == 404
    assert client.post(f"/api/jobs/{job['job_id']}/cancel", headers=other).status_code == 404


@pytest.mark.parametrize(
    "path", ["../evil.js", "/etc/passwd", ".git/config", "node_modules/x/index.js", "src/../../x"]
)
def test_hand_edits_with_unsafe_paths_are_refused(
    client: TestClient, auth: dict[str, str], run_worker: Drain, path: str
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    resp = client.post(
        f"/api/projects/{pid}/versions",
        headers=auth,
        json={"base_version": 1, "files": {path: "x"}},
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "unsafe_path"


def test_unknown_routes_answer_json(client: TestClient) -> None:
    resp = client.get("/api/nope")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_the_openapi_document_lists_every_route(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/sessions",
        "/api/generations",
        "/api/jobs/{job_id}",
        "/api/projects/{project_id}/versions/{number}/archive.zip",
    ):
        assert path in paths


def test_the_openapi_document_types_job_events_as_the_event_models(client: TestClient) -> None:
    doc = client.get("/api/openapi.json").json()
    events = doc["components"]["schemas"]["JobPublic"]["properties"]["events"]
    event, sequenced = events["items"]["allOf"]
    named = {ref["$ref"].rsplit("/", 1)[1] for ref in event["oneOf"]}
    assert {"FileStart", "FileChunk", "Edit", "Status", "Usage"} <= named
    assert named <= set(doc["components"]["schemas"])
    assert sequenced["required"] == ["seq"]


def test_a_stored_event_the_models_do_not_know_is_still_served(
    client: TestClient, store: Any, auth: dict[str, str]
) -> None:
    from kiln.store import jobs as store_jobs
    from kiln.store.sessions import owner_for_token

    owner = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    store_jobs.create_job(store, "j_newer", {"kind": "generate", "owner": owner})
    odd = {"seq": 1, "type": "from_a_newer_worker", "detail": {"x": 1}}
    store_jobs.append_events(store, "j_newer", [odd])
    resp = client.get("/api/jobs/j_newer", headers=auth)
    assert resp.status_code == 200, resp.text
    assert resp.json()["events"] == [odd]


def test_the_legacy_generate_route_answers_with_the_original_shape(
    client: TestClient, store: Any, settings: Any
) -> None:
    import threading

    from kiln.workers import generation_record

    stop = threading.Event()

    def worker() -> None:
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        from kiln.local.pump import sqs_event

        while not stop.is_set():
            msgs = store.sqs.receive_message(
                QueueUrl=settings.generate_queue_url, WaitTimeSeconds=1
            ).get("Messages", [])
            for m in msgs:
                generation_record(SQSRecord(sqs_event("arn", [m])["Records"][0]), store)
                store.sqs.delete_message(
                    QueueUrl=settings.generate_queue_url, ReceiptHandle=m["ReceiptHandle"]
                )

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        resp = client.post("/api/generate", json={"prompt": "a counter", "framework": "react"})
    finally:
        stop.set()
    body = resp.json()
    assert resp.status_code == 200 and body["success"] is True
    assert set(body["code"]) == {"app", "main", "html", "css", "js"}
    assert body["code"]["app"] == body["files"]["src/App.tsx"]


# --- renaming a project -----------------------------------------------------------------


def test_a_renamed_project_shows_its_new_name_everywhere_and_keeps_its_versions(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]

    resp = client.patch(f"/api/projects/{pid}", headers=auth, json={"name": "Groceries"})

    assert (resp.status_code, resp.json()["name"]) == (200, "Groceries")
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == "Groceries"
    listed = {p["project_id"]: p for p in client.get("/api/projects", headers=auth).json()}
    assert listed[pid]["name"] == "Groceries"
    assert listed[pid]["latest_version"] == 1
    assert [
        v["version"] for v in client.get(f"/api/projects/{pid}/versions", headers=auth).json()
    ] == [1]


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 121])
def test_an_empty_blank_or_overlong_name_is_422_validation_error_and_keeps_the_old_name(
    client: TestClient, auth: dict[str, str], run_worker: Drain, name: str
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    before = client.get(f"/api/projects/{pid}", headers=auth).json()["name"]

    resp = client.patch(f"/api/projects/{pid}", headers=auth, json={"name": name})

    assert (resp.status_code, resp.json()["error"]["code"]) == (422, "validation_error")
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == before


def test_a_name_is_kept_without_its_surrounding_whitespace(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    resp = client.patch(f"/api/projects/{pid}", headers=auth, json={"name": "  Budget  "})
    assert resp.json()["name"] == "Budget"


def test_renaming_another_owners_project_is_404_not_found_and_changes_nothing(
    client: TestClient, auth: dict[str, str], run_worker: Drain
) -> None:
    pid = generate(client, auth, run_worker)["project_id"]
    before = client.get(f"/api/projects/{pid}", headers=auth).json()["name"]
    stranger = {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}

    resp = client.patch(f"/api/projects/{pid}", headers=stranger, json={"name": "Mine now"})

    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "not_found")
    assert client.get(f"/api/projects/{pid}", headers=auth).json()["name"] == before
