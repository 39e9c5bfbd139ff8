"""Deployments through the API and the real deploy worker, against the fake providers.

The deploy queue is drained through `kiln.workers.deploy_record` with SQS records, as
Lambda's event source mapping would deliver them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from fastapi.testclient import TestClient
from starlette.applications import Starlette

from kiln.config import Settings
from kiln.deploy.runner import run_deploy_job
from kiln.generate import save_version
from kiln.local.pump import sqs_event
from kiln.local.sites import site_route
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from kiln.workers import deploy_record
from tests.fakes.deploy_servers import TOKEN, FakeGitHub, FakeNetlify, FakeVercel
from tests.fakes.sites_cdn import quick_deploys

pytestmark = pytest.mark.integration

FILES = {
    "index.html": '<!doctype html><link rel="stylesheet" href="style.css"><h1>Hi</h1>'
    '<script type="module" src="app.js"></script>',
    "style.css": "h1 { color: teal }",
    "app.js": "document.querySelector('h1').textContent = 'Hello'",
}

Drain = Callable[..., list[str]]


@pytest.fixture
def settings(
    settings: Settings, vercel_fake: FakeVercel, netlify_fake: FakeNetlify, github_fake: FakeGitHub
) -> Iterator[Settings]:
    """The test stack pointed at the fake providers, with quick polls and no re-enqueue delay."""
    with quick_deploys(settings) as quick:
        yield settings.model_copy(
            update={
                **quick,
                "vercel_api": vercel_fake.url,
                "netlify_api": netlify_fake.url,
                "github_api": github_fake.url,
            }
        )


@pytest.fixture
def drain(store: Store) -> Drain:
    """Deliver deploy messages to the worker until none is visible (or `until` holds)."""

    def run(until: Callable[[], bool] | None = None, timeout_s: float = 20.0) -> list[str]:
        results: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            resp = store.sqs.receive_message(
                QueueUrl=store.settings.deploy_queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=1 if until is not None else 0,
            )
            messages: list[dict[str, Any]] = resp.get("Messages", [])
            if not messages:
                if until is None or until():
                    return results
                continue
            event = sqs_event("arn:aws:sqs:us-east-1:000000000000:deploy", messages)
            results.append(deploy_record(SQSRecord(event["Records"][0]), store))
            store.sqs.delete_message(
                QueueUrl=store.settings.deploy_queue_url,
                ReceiptHandle=messages[0]["ReceiptHandle"],
            )
        return results

    return run


def owner_of(client: TestClient, auth: dict[str, str], store: Store) -> str:
    from kiln.store.sessions import owner_for_token

    owner: str | None = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    assert owner is not None
    return owner


@pytest.fixture
def project(client: TestClient, auth: dict[str, str], store: Store) -> str:
    """A plain HTML project (no package.json, so static targets ship it as it is)."""
    pid: str = projects.create_project(
        store, owner=owner_of(client, auth, store), name="Hello Site", framework=Framework.vanilla
    )["project_id"]
    save_version(store, pid, FILES, parent=None, prompt="hello", job_id=None)
    return pid


def deploy(
    client: TestClient, auth: dict[str, str], project_id: str, target: str, **body: Any
) -> dict[str, Any]:
    body = {"project_id": project_id, "target": target, **body}
    if target != "s3":
        body.setdefault("token", TOKEN)
    resp = client.post("/api/deployments", json=body, headers=auth)
    assert resp.status_code == 202, resp.text
    accepted: dict[str, Any] = resp.json()
    return accepted


def deployment(client: TestClient, auth: dict[str, str], deployment_id: str) -> dict[str, Any]:
    resp = client.get(f"/api/deployments/{deployment_id}", headers=auth)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def job(client: TestClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    resp = client.get(f"/api/jobs/{job_id}", headers=auth)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def encoded(files: dict[str, str]) -> dict[str, bytes]:
    return {p: t.encode() for p, t in files.items()}


def secret_exists(store: Store, name: str) -> bool:
    sm = store.client("secretsmanager")
    try:
        sm.get_secret_value(SecretId=name)
    except (sm.exceptions.ResourceNotFoundException, sm.exceptions.InvalidRequestException):
        return False
    return True


# --- each target ----------------------------------------------------------------------


def test_a_generated_project_deployed_to_vercel_holds_exactly_its_files(
    client: TestClient,
    auth: dict[str, str],
    run_worker: Callable[[], list[str]],
    drain: Drain,
    vercel_fake: FakeVercel,
) -> None:
    accepted = client.post(
        "/api/generations", json={"prompt": "a counter", "framework": "react"}, headers=auth
    ).json()
    run_worker()
    pid = accepted["project_id"]
    files = client.get(f"/api/projects/{pid}/versions/1", headers=auth).json()["files"]
    started = deploy(client, auth, pid, "vercel")
    assert drain() == ["succeeded"]
    dep = deployment(client, auth, started["deployment_id"])
    assert dep["state"] == "ready"
    (created,) = vercel_fake.deployments.values()
    assert created["files"] == encoded(files)
    assert dep["url"] == f"https://{created['alias'][0]}"


def test_netlify_publishes_the_version_with_an_spa_redirect(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, netlify_fake: FakeNetlify
) -> None:
    started = deploy(client, auth, project, "netlify")
    assert drain() == ["succeeded"]
    dep = deployment(client, auth, started["deployment_id"])
    assert dep["state"] == "ready" and dep["url"].endswith(".netlify.app")
    published = netlify_fake.published_files(dep["provider_ids"]["site"])
    assert published == {**encoded(FILES), "_redirects": b"/*    /index.html    200\n"}


def test_github_pages_gets_the_version_on_gh_pages(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, github_fake: FakeGitHub
) -> None:
    started = deploy(client, auth, project, "github")
    assert drain() == ["succeeded"]
    dep = deployment(client, auth, started["deployment_id"])
    ids = dep["provider_ids"]
    branch = github_fake.branch_files(ids["owner"], ids["repo"], "gh-pages")
    assert branch == {
        **encoded(FILES),
        ".nojekyll": b"",
        "404.html": FILES["index.html"].encode(),
    }
    assert dep["url"] == f"https://{ids['owner']}.github.io/{ids['repo']}/"


def test_s3_stores_a_projects_first_deploy_under_that_deployments_id(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, store: Store
) -> None:
    started = deploy(client, auth, project, "s3")
    assert drain() == ["succeeded"]
    did = started["deployment_id"]
    prefix = f"sites/{did}/"
    listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix)["Contents"]
    stored = {
        o["Key"].removeprefix(prefix): store.s3.get_object(Bucket=store.bucket, Key=o["Key"])[
            "Body"
        ].read()
        for o in listed
    }
    assert stored == encoded(FILES)
    assert deployment(client, auth, did)["url"] == f"{store.settings.sites_public_base}/{prefix}"


def redeploy_s3(
    client: TestClient, auth: dict[str, str], store: Store, project: str, page: str, drain: Drain
) -> dict[str, Any]:
    """Save `page` as the project's next version, deploy it to s3, run the worker."""
    latest = projects.latest_version_number(store, project)
    save_version(
        store, project, {**FILES, "index.html": page}, parent=latest, prompt=None, job_id=None
    )
    started = deploy(client, auth, project, "s3")
    assert drain() == ["succeeded"]
    return deployment(client, auth, started["deployment_id"])


def site_objects(store: Store, url: str) -> dict[str, bytes]:
    """The objects under a deployed URL's prefix."""
    prefix = urlsplit(url).path.lstrip("/")
    listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: store.s3.get_object(Bucket=store.bucket, Key=o["Key"])["Body"].read()
        for o in listed
    }


def test_every_s3_deploy_of_a_project_keeps_its_url_and_serves_the_latest_version(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, store: Store
) -> None:
    first = redeploy_s3(client, auth, store, project, "<h1>one</h1>", drain)
    second = redeploy_s3(client, auth, store, project, "<h1>two</h1>", drain)
    assert second["url"] == first["url"]
    assert second["provider_ids"]["site"] == first["deployment_id"]
    assert httpx.get(second["url"]).text == "<h1>two</h1>"


def test_kiln_devs_sites_route_serves_the_latest_deploy_at_the_projects_url(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, store: Store
) -> None:
    redeploy_s3(client, auth, store, project, "<h1>one</h1>", drain)
    url = redeploy_s3(client, auth, store, project, "<h1>two</h1>", drain)["url"]
    with TestClient(Starlette(routes=[site_route(store)])) as dev:
        served = dev.get(urlsplit(url).path)
    assert served.status_code == 200 and "<h1>two</h1>" in served.text
    assert "<h1>one</h1>" not in served.text


def test_an_older_s3_deploy_that_runs_after_a_newer_one_leaves_the_newer_site(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, store: Store
) -> None:
    """As when the older deploy was parked on a throttle while the newer one went live."""
    older = deploy(client, auth, project, "s3")
    save_version(
        store,
        project,
        {**FILES, "index.html": "<h1>newer</h1>"},
        parent=1,
        prompt=None,
        job_id=None,
    )
    newer = deploy(client, auth, project, "s3")
    assert run_deploy_job(store, newer["job_id"]) == "succeeded"
    assert run_deploy_job(store, older["job_id"]) == "succeeded"
    deps = [deployment(client, auth, d["deployment_id"]) for d in (older, newer)]
    assert deps[0]["url"] == deps[1]["url"]
    assert httpx.get(deps[1]["url"]).text == "<h1>newer</h1>"
    drain()


@pytest.mark.parametrize("whose", ["the same owner", "another owner"])
def test_s3_deploys_of_two_projects_never_share_a_prefix_or_write_the_others(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    whose: str,
) -> None:
    other_auth = (
        auth
        if whose == "the same owner"
        else {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}
    )
    other = projects.create_project(
        store,
        owner=owner_of(client, other_auth, store),
        name="Hello Site",
        framework=Framework.vanilla,
    )["project_id"]
    save_version(store, other, FILES, parent=None, prompt=None, job_id=None)
    theirs = redeploy_s3(client, other_auth, store, other, "<h1>theirs</h1>", drain)
    kept = site_objects(store, theirs["url"])
    mine = [redeploy_s3(client, auth, store, project, f"<h1>{n}</h1>", drain) for n in (1, 2)]
    assert theirs["url"] != mine[0]["url"] and not mine[0]["url"].startswith(theirs["url"])
    assert site_objects(store, theirs["url"]) == kept
    assert httpx.get(theirs["url"]).text == "<h1>theirs</h1>"


def test_an_s3_deploy_request_cannot_name_a_site(
    client: TestClient, auth: dict[str, str], project: str
) -> None:
    """The site comes from the owner's project alone; no option selects another."""
    resp = client.post(
        "/api/deployments",
        json={"project_id": project, "target": "s3", "options": {"site_id": "d_other"}},
        headers=auth,
    )
    assert (resp.status_code, resp.json()["error"]["code"]) == (422, "validation_error")


def test_the_jobs_events_show_each_step_with_upload_counts(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain
) -> None:
    started = deploy(client, auth, project, "netlify")
    drain()
    events = job(client, auth, started["job_id"])["events"]
    messages = [e["message"] for e in events if e["type"] == "status"]
    assert f"uploading 1/{len(FILES) + 1} files" in messages
    assert any(m.startswith("live at https://") for m in messages)
    phases = [e["phase"] for e in events if e["type"] == "status"]
    assert phases.index("site") < phases.index("upload") < phases.index("ready")


def test_the_deployment_reports_its_steps_and_provider_ids(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain
) -> None:
    started = deploy(client, auth, project, "netlify")
    assert deployment(client, auth, started["deployment_id"])["state"] == "queued"
    drain()
    dep = deployment(client, auth, started["deployment_id"])
    assert dep["step"] == "ready"
    assert set(dep["provider_ids"]) == {"site", "deploy"}
    assert dep["log"][-1] == "ready: deploy is live"
    assert dep["version"] == 1 and dep["job_id"] == started["job_id"]


def test_a_projects_deployments_are_listed_newest_first(
    client: TestClient, auth: dict[str, str], project: str
) -> None:
    first = deploy(client, auth, project, "s3")
    second = deploy(client, auth, project, "s3")
    resp = client.get("/api/deployments", params={"project_id": project}, headers=auth)
    assert [d["deployment_id"] for d in resp.json()] == [
        second["deployment_id"],
        first["deployment_id"],
    ]


def test_a_pinned_version_is_deployed_instead_of_the_latest(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    netlify_fake: FakeNetlify,
) -> None:
    save_version(store, project, {**FILES, "new.txt": "v2"}, parent=1, prompt="v2", job_id=None)
    started = deploy(client, auth, project, "netlify", version=1)
    drain()
    dep = deployment(client, auth, started["deployment_id"])
    assert dep["version"] == 1
    assert "new.txt" not in netlify_fake.published_files(dep["provider_ids"]["site"])


# --- resuming, waiting, failing -------------------------------------------------------


def test_a_deploy_interrupted_after_creating_resumes_without_a_second_deploy(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, netlify_fake: FakeNetlify
) -> None:
    netlify_fake.drop("POST", r"^/sites/[^/]+/deploys$")  # created, but the answer is lost
    started = deploy(client, auth, project, "netlify")
    assert drain() == ["pending", "succeeded"]
    assert len(netlify_fake.deploys) == 1 and len(netlify_fake.sites) == 1
    assert deployment(client, auth, started["deployment_id"])["state"] == "ready"
    assert "resume" in [e.get("phase") for e in job(client, auth, started["job_id"])["events"]]


def test_a_worker_that_died_mid_deploy_is_resumed_by_the_sweeper_from_the_journal(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    vercel_fake: FakeVercel,
) -> None:
    from kiln.job_control import sweep
    from kiln.store import jobs as store_jobs

    started = deploy(client, auth, project, "vercel")
    # the first delivery's worker dies: the create reached Vercel, its answer never came back
    # and nothing after it ran. A blocked Vercel stands for the frozen worker.
    release = threading.Event()
    original = vercel_fake._routes[:]
    vercel_fake._routes.insert(
        0, ("GET", re.compile(r"^/v13/deployments/([^/]+)$"), _blocked(release))
    )
    dead = threading.Thread(target=drain, daemon=True)
    dead.start()
    wait_for(lambda: store_jobs.get_job(store, started["job_id"])["status"] == "running")
    wait_for(lambda: len(vercel_fake.deployments) == 1)
    vercel_fake._routes[:] = original
    assert sweep(store, cutoff_s=0)["requeued"] == 1
    assert drain() == ["succeeded"]
    release.set()
    dead.join(timeout=10)
    assert len(vercel_fake.deployments) == 1
    dep = deployment(client, auth, started["deployment_id"])
    assert dep["state"] == "ready" and dep["url"]


def _blocked(release: threading.Event) -> Callable[..., Any]:
    from tests.fakes.deploy_servers import reply

    def handler(rec: Any, dpl_id: str) -> Any:
        release.wait(10)
        return reply(503, {"error": {"code": "unavailable", "message": "down"}})

    return handler


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_a_pending_deploy_is_requeued_with_a_delay_and_later_ready(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    settings: Settings,
) -> None:
    store.settings = settings.model_copy(
        update={"deploy_poll_budget_s": 0.0, "deploy_requeue_delay_s": 1}
    )
    started = deploy(client, auth, project, "vercel")
    assert drain() == ["pending"]  # the re-enqueued message is not visible yet
    assert job(client, auth, started["job_id"])["status"] == "queued"
    assert deployment(client, auth, started["deployment_id"])["state"] == "polling"
    results = drain(until=lambda: job(client, auth, started["job_id"])["status"] == "succeeded")
    assert results[-1] == "succeeded" and set(results[:-1]) <= {"pending"}
    assert deployment(client, auth, started["deployment_id"])["state"] == "ready"


def test_a_deploy_still_building_after_its_last_requeue_fails_deploy_failed_and_drops_its_token(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    settings: Settings,
    vercel_fake: FakeVercel,
) -> None:
    vercel_fake.PROGRESSION = ("QUEUED", *["BUILDING"] * 1000, "READY")  # type: ignore[misc]
    store.settings = settings.model_copy(
        update={"deploy_poll_budget_s": 0.0, "deploy_max_requeues": 2}
    )
    started = deploy(client, auth, project, "vercel")
    assert secret_exists(store, f"kiln/deploys/{started['deployment_id']}")

    assert drain() == ["pending", "pending", "failed"]

    finished = job(client, auth, started["job_id"])
    dep = deployment(client, auth, started["deployment_id"])
    assert (finished["status"], finished["error"]["code"]) == ("failed", "deploy_failed")
    assert "did not finish in time" in finished["error"]["message"]
    assert (dep["state"], dep["error"]["code"]) == ("error", "deploy_failed")
    assert not secret_exists(store, f"kiln/deploys/{started['deployment_id']}")


def test_a_provider_unavailable_past_its_retries_fails_deploy_unavailable_and_drops_its_token(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    vercel_fake: FakeVercel,
) -> None:
    outage = {"error": {"code": "internal_server_error", "message": "An unexpected error"}}
    vercel_fake.fail("POST", r"/v13/deployments", 503, outage, times=100)
    started = deploy(client, auth, project, "vercel")
    assert secret_exists(store, f"kiln/deploys/{started['deployment_id']}")

    assert drain() == ["pending", "pending", "pending", "failed"]

    finished = job(client, auth, started["job_id"])
    dep = deployment(client, auth, started["deployment_id"])
    assert (finished["status"], finished["error"]["code"]) == ("failed", "deploy_unavailable")
    assert (dep["state"], dep["error"]["code"]) == ("error", "deploy_unavailable")
    assert vercel_fake.deployments == {}
    assert not secret_exists(store, f"kiln/deploys/{started['deployment_id']}")


def test_a_wrong_token_fails_with_deploy_auth_and_is_written_nowhere(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "tok_wrong_9f8e7d6c5b4a_LEAK"
    started = deploy(client, auth, project, "vercel", token=wrong)
    seen = [json.dumps(started)]
    assert drain() == ["failed"]
    finished = job(client, auth, started["job_id"])
    dep = deployment(client, auth, started["deployment_id"])
    assert finished["error"]["code"] == "deploy_auth"
    assert dep["state"] == "error" and dep["error"]["code"] == "deploy_auth"
    seen += [json.dumps(finished), json.dumps(dep)]
    seen.append(client.get("/api/deployments", params={"project_id": project}, headers=auth).text)
    seen += [r.getMessage() + str(r.__dict__) for r in caplog.records]
    items = store.ddb.scan(TableName=store.table)["Items"]
    seen.append(json.dumps(items))
    for obj in store.s3.list_objects_v2(Bucket=store.bucket).get("Contents", []):
        seen.append(str(store.s3.get_object(Bucket=store.bucket, Key=obj["Key"])["Body"].read()))
    assert not [text for text in seen if wrong in text]
    assert caplog.records  # the worker did log: the check above is not vacuous


def test_a_request_token_is_deleted_from_secrets_manager_when_the_deploy_ends(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, store: Store
) -> None:
    started = deploy(client, auth, project, "netlify")
    name = f"kiln/deploys/{started['deployment_id']}"
    assert secret_exists(store, name)
    drain()
    assert not secret_exists(store, name)


# --- cancelling ---------------------------------------------------------------------------


def test_cancelling_a_queued_deploy_ends_its_deployment_and_deletes_its_token(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, store: Store
) -> None:
    started = deploy(client, auth, project, "netlify")
    name = f"kiln/deploys/{started['deployment_id']}"

    resp = client.post(f"/api/jobs/{started['job_id']}/cancel", headers=auth)

    assert resp.status_code == 202 and resp.json()["status"] == "cancelled"
    assert deployment(client, auth, started["deployment_id"])["state"] == "cancelled"
    assert not secret_exists(store, name)
    assert drain() == ["skipped"]  # the queued message finds the job cancelled


def test_cancelling_a_deploy_parked_between_polls_ends_it_and_deletes_its_token(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    settings: Settings,
    vercel_fake: FakeVercel,
) -> None:
    store.settings = settings.model_copy(
        update={"deploy_poll_budget_s": 0.0, "deploy_requeue_delay_s": 1}
    )
    started = deploy(client, auth, project, "vercel")
    assert drain() == ["pending"]
    assert job(client, auth, started["job_id"])["status"] == "queued"

    client.post(f"/api/jobs/{started['job_id']}/cancel", headers=auth)

    assert deployment(client, auth, started["deployment_id"])["state"] == "cancelled"
    assert not secret_exists(store, f"kiln/deploys/{started['deployment_id']}")
    assert drain(until=lambda: False, timeout_s=3) == ["skipped"]  # the delayed message
    assert job(client, auth, started["job_id"])["status"] == "cancelled"


def test_without_a_token_the_operators_secret_is_used(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    drain: Drain,
    store: Store,
    settings: Settings,
) -> None:
    store.client("secretsmanager").create_secret(Name="ops/netlify", SecretString=TOKEN)
    store.settings = settings.model_copy(update={"netlify_token_secret": "ops/netlify"})
    started = deploy(client, auth, project, "netlify", token=None)
    assert drain() == ["succeeded"]
    assert deployment(client, auth, started["deployment_id"])["state"] == "ready"
    assert secret_exists(store, "ops/netlify")


def test_without_any_token_a_provider_deploy_is_refused(
    client: TestClient, auth: dict[str, str], project: str
) -> None:
    body = {"project_id": project, "target": "github"}
    resp = client.post("/api/deployments", json=body, headers=auth)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "token_required"


def test_a_failed_provider_build_is_deploy_failed(
    client: TestClient, auth: dict[str, str], project: str, drain: Drain, vercel_fake: FakeVercel
) -> None:
    vercel_fake.end_state = "ERROR"
    started = deploy(client, auth, project, "vercel")
    assert drain() == ["failed"]
    assert job(client, auth, started["job_id"])["error"]["code"] == "deploy_failed"


INVALID = "validation_error"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"target": "ftp"}, 422, INVALID),
        ({"target": "s3", "version": 9}, 404, "not_found"),
        ({"target": "netlify", "token": "x", "options": {"colour": "red"}}, 422, INVALID),
        ({"target": "netlify", "token": "x", "options": {"name": "Not A Slug"}}, 422, INVALID),
    ],
)
def test_bad_deployment_requests_are_refused_with_a_stable_code(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    resp = client.post("/api/deployments", json={"project_id": project, **body}, headers=auth)
    assert (resp.status_code, resp.json()["error"]["code"]) == (status, code)


# --- isolation and the original interface --------------------------------------------


def test_another_owner_gets_404_on_every_deployment_route(
    client: TestClient, auth: dict[str, str], project: str
) -> None:
    started = deploy(client, auth, project, "s3")
    other = {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}
    answers = [
        client.get(f"/api/deployments/{started['deployment_id']}", headers=other),
        client.get("/api/deployments", params={"project_id": project}, headers=other),
        client.post(
            "/api/deployments", json={"project_id": project, "target": "s3"}, headers=other
        ),
    ]
    assert [r.status_code for r in answers] == [404, 404, 404]


@pytest.fixture
def background_worker(drain: Drain) -> Iterator[None]:
    """The deploy worker running beside the API, for routes that wait on it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            drain(until=stop.is_set, timeout_s=1.0)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def test_the_legacy_deploy_route_answers_with_the_original_shape(
    client: TestClient, background_worker: None, netlify_fake: FakeNetlify
) -> None:
    resp = client.post(
        "/api/deploy",
        json={
            "code": "<h1>legacy</h1>",
            "platform": "netlify",
            "project_name": "Old App",
            "token": TOKEN,
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True
    assert body["deployment"]["url"].endswith(".netlify.app")
    assert body["deployment"]["platform"] == "netlify"
    site = body["deployment"]["provider_ids"]["site"]
    assert netlify_fake.published_files(site)["index.html"] == b"<h1>legacy</h1>"


def test_the_legacy_shape_is_laid_onto_the_react_original_layout(store: Store) -> None:
    from kiln.deploy.legacy import legacy_files
    from kiln.frameworks import legacy_skeleton

    files, framework = legacy_files({"app": "APP", "css": "CSS", "js": ""}, Framework.react)
    assert framework == Framework.react
    expected = {**legacy_skeleton(Framework.react), "src/App.tsx": "APP", "src/index.css": "CSS"}
    assert files == expected
