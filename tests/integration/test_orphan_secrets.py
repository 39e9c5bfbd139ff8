"""No orphaned secrets (issue 21, part A): every check runs before a deploy token is stored,
a failure after storing it deletes it, and the sweeper removes `kiln/deploys/*` and
`kiln/schedules/*` secrets that no live deployment or schedule references. Secrets
Manager runs on the moto server; each test asserts by listing secrets."""

# ruff: noqa: F811  (fixtures are imported, then named as parameters)
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kiln.store import deployments
from kiln.store.db import Store
from kiln.workers import scheduled_tick
from tests.fakes.deploy_servers import TOKEN
from tests.integration.test_deployments_api import (  # noqa: F401
    Drain,
    deploy,
    deployment,
    drain,
    project,
    settings,
)
from tests.integration.test_schedule_bounds import secret_names

pytestmark = pytest.mark.integration

DEPLOYS = "kiln/deploys/"


def attempt(client: TestClient, auth: dict[str, str], pid: str, **body: object) -> int:
    body = {"project_id": pid, "target": "netlify", "token": TOKEN, **body}
    return client.post("/api/deployments", json=body, headers=auth).status_code


def test_a_deploy_refused_by_the_daily_quota_stores_no_token(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    store.settings = store.settings.model_copy(update={"daily_job_quota": 0})
    before = secret_names(store, DEPLOYS)
    assert attempt(client, auth, project) == 429
    assert secret_names(store, DEPLOYS) == before


def test_a_deploy_refused_for_its_options_stores_no_token(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    before = secret_names(store, DEPLOYS)
    assert attempt(client, auth, project, options={"site_id": "../x"}) == 422
    assert secret_names(store, DEPLOYS) == before


def test_a_token_sent_with_an_s3_deploy_is_never_stored(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    started = deploy(client, auth, project, "s3", token=TOKEN)
    assert f"{DEPLOYS}{started['deployment_id']}" not in secret_names(store, DEPLOYS)


def test_a_failure_after_the_token_is_stored_deletes_it(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    gone = store.settings.deploy_queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    store.settings = store.settings.model_copy(update={"deploy_queue_url": gone})
    before = secret_names(store, DEPLOYS)
    with TestClient(client.app, raise_server_exceptions=False) as answering:
        assert attempt(answering, auth, project) == 500
    assert secret_names(store, DEPLOYS) == before


def sweep(store: Store, grace_s: int = 0) -> object:
    store.settings = store.settings.model_copy(update={"secret_sweep_grace_s": grace_s})
    return scheduled_tick({"task": "sweeper"}, store)["secrets"]


def test_the_sweeper_deletes_tokens_that_nothing_live_references(
    client: TestClient, auth: dict[str, str], project: str, store: Store, drain: Drain
) -> None:
    finished = deploy(client, auth, project, "netlify")["deployment_id"]
    assert drain() == ["succeeded"]
    leftover = deployments.put_secret(store, f"{DEPLOYS}{finished}", TOKEN)  # a crash in _settle
    orphan = deployments.put_secret(store, f"{DEPLOYS}d_never_written", TOKEN)
    schedule_orphan = deployments.put_secret(store, "kiln/schedules/s_never_written", TOKEN)
    live = deploy(client, auth, project, "netlify")["deployment_id"]
    body = {"expression": "rate(1 day)", "target": "netlify", "token": TOKEN}
    sid = client.post(f"/api/projects/{project}/schedules", json=body, headers=auth).json()[
        "schedule_id"
    ]
    assert leftover and orphan and schedule_orphan
    sweep(store, grace_s=0)
    remaining = secret_names(store, "kiln/")
    assert f"{DEPLOYS}{finished}" not in remaining
    assert f"{DEPLOYS}d_never_written" not in remaining
    assert "kiln/schedules/s_never_written" not in remaining
    assert {f"{DEPLOYS}{live}", f"kiln/schedules/{sid}"} <= remaining


def test_the_sweeper_leaves_a_young_secret_whose_item_may_not_be_written_yet(
    store: Store,
) -> None:
    deployments.put_secret(store, f"{DEPLOYS}d_being_created", TOKEN)
    sweep(store, grace_s=900)
    assert f"{DEPLOYS}d_being_created" in secret_names(store, DEPLOYS)
    sweep(store, grace_s=0)
    assert f"{DEPLOYS}d_being_created" not in secret_names(store, DEPLOYS)


def test_a_cancelled_queued_deploy_is_ended_and_its_token_swept(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    started = deploy(client, auth, project, "netlify")
    resp = client.post(f"/api/jobs/{started['job_id']}/cancel", headers=auth)
    assert resp.status_code == 202 and resp.json()["status"] == "cancelled"
    sweep(store, grace_s=900)  # the deployment exists: no grace needed
    assert deployment(client, auth, started["deployment_id"])["state"] == "cancelled"
    assert f"{DEPLOYS}{started['deployment_id']}" not in secret_names(store, DEPLOYS)
