"""Scheduled redeploys: expressions, a controlled clock, the tick, history and stored tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kiln.config import Settings
from kiln.deploy.cron import next_run
from kiln.deploy.schedules import run_due
from kiln.errors import Unprocessable
from kiln.generate import save_version
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from kiln.store.sessions import owner_for_token
from tests.fakes.deploy_servers import TOKEN, FakeNetlify
from tests.fakes.sites_cdn import quick_deploys
from tests.integration.test_deployments_api import FILES, Drain, drain, secret_exists  # noqa: F401

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 7, 12, 0, tzinfo=UTC).timestamp()  # a Saturday, noon UTC


@pytest.fixture
def settings(settings: Settings, netlify_fake: FakeNetlify) -> Iterator[Settings]:
    with quick_deploys(settings) as quick:
        yield settings.model_copy(
            update={
                **quick,
                "netlify_api": netlify_fake.url,
            }
        )


@pytest.fixture
def project(client: TestClient, auth: dict[str, str], store: Store) -> str:
    owner = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    assert owner is not None
    pid: str = projects.create_project(
        store, owner=owner, name="Daily Site", framework=Framework.vanilla
    )["project_id"]
    save_version(store, pid, FILES, parent=None, prompt="hello", job_id=None)
    return pid


def schedule(
    client: TestClient, auth: dict[str, str], project_id: str, **body: Any
) -> dict[str, Any]:
    body = {"expression": "rate(1 day)", "target": "netlify", "token": TOKEN, **body}
    resp = client.post(f"/api/projects/{project_id}/schedules", json=body, headers=auth)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def fetch(client: TestClient, auth: dict[str, str], pid: str, sid: str) -> dict[str, Any]:
    resp = client.get(f"/api/projects/{pid}/schedules/{sid}", headers=auth)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def due_time(created: dict[str, Any]) -> float:
    return datetime.fromisoformat(created["next_run"].replace("Z", "+00:00")).timestamp()


# --- expressions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 day)", "2026-03-08T12:00"),
        ("rate(15 minutes)", "2026-03-07T12:15"),
        ("rate(2 hours)", "2026-03-07T14:00"),
        ("cron(0 9 ? * MON-FRI *)", "2026-03-09T09:00"),
        ("cron(30 6 1 * ? *)", "2026-04-01T06:30"),
        ("cron(*/20 * ? * SAT *)", "2026-03-07T12:20"),
        ("cron(0 0 1 JAN ? 2027)", "2027-01-01T00:00"),
    ],
)
def test_the_next_run_follows_the_expression_in_utc(expression: str, expected: str) -> None:
    at = datetime.fromtimestamp(next_run(expression, T0), UTC)
    assert at.isoformat().startswith(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 days)",
        "rate(1 week)",
        "every day",
        "cron(0 9 * * MON *)",  # both day fields set
        "cron(0 9 ? * MON)",  # five fields
        "cron(61 9 ? * MON *)",
        "cron(0 9 L * ? *)",
        "cron(0 0 1 JAN ? 2020)",  # never again
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(Unprocessable) as err:
        next_run(expression, T0)
    assert err.value.code == "invalid_schedule"


def test_an_invalid_expression_is_a_422_through_the_api(
    client: TestClient, auth: dict[str, str], project: str
) -> None:
    body = {"expression": "rate(1 fortnight)", "target": "s3"}
    resp = client.post(f"/api/projects/{project}/schedules", json=body, headers=auth)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_schedule"


# --- the tick -------------------------------------------------------------------------


def test_a_due_schedule_deploys_the_latest_version_and_records_the_run(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    store: Store,
    drain: Drain,  # noqa: F811
    netlify_fake: FakeNetlify,
) -> None:
    created = schedule(client, auth, project)
    save_version(store, project, {**FILES, "v2.txt": "two"}, parent=1, prompt="v2", job_id=None)
    assert run_due(store, now=due_time(created))["started"] == 1
    assert drain() == ["succeeded"]
    (run,) = fetch(client, auth, project, created["schedule_id"])["runs"]
    assert run["state"] == "ready"
    dep = client.get(f"/api/deployments/{run['deployment_id']}", headers=auth).json()
    assert dep["version"] == 2 and dep["schedule_id"] == created["schedule_id"]
    assert netlify_fake.published_files(dep["provider_ids"]["site"])["v2.txt"] == b"two"


def test_a_scheduled_s3_deploy_updates_the_projects_site_at_its_url(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    store: Store,
    drain: Drain,  # noqa: F811
) -> None:
    by_hand = client.post(
        "/api/deployments", json={"project_id": project, "target": "s3"}, headers=auth
    ).json()
    assert drain() == ["succeeded"]
    created = schedule(client, auth, project, target="s3", token=None)
    page = "<h1>scheduled</h1>"
    save_version(store, project, {**FILES, "index.html": page}, parent=1, prompt=None, job_id=None)
    assert run_due(store, now=due_time(created))["started"] == 1
    assert drain() == ["succeeded"]
    (run,) = fetch(client, auth, project, created["schedule_id"])["runs"]
    urls = [
        client.get(f"/api/deployments/{did}", headers=auth).json()["url"]
        for did in (by_hand["deployment_id"], run["deployment_id"])
    ]
    assert urls[1] == urls[0]
    assert httpx.get(urls[1]).text == page


def test_a_schedule_is_not_run_before_it_is_due(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    created = schedule(client, auth, project)
    assert run_due(store, now=due_time(created) - 1)["started"] == 0


def test_two_ticks_at_the_same_time_fire_a_schedule_once(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    created = schedule(client, auth, project)
    at = due_time(created)
    assert run_due(store, now=at)["started"] == 1
    assert run_due(store, now=at)["started"] == 0
    assert len(fetch(client, auth, project, created["schedule_id"])["runs"]) == 1


def test_firing_moves_the_next_run_forward_by_the_rate(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    created = schedule(client, auth, project)
    run_due(store, now=due_time(created))
    later = fetch(client, auth, project, created["schedule_id"])
    assert due_time(later) == due_time(created) + 86400


def test_a_pinned_version_is_redeployed_even_after_newer_ones(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    save_version(store, project, FILES, parent=1, prompt="v2", job_id=None)
    created = schedule(client, auth, project, version=1, target="s3", token=None)
    run_due(store, now=due_time(created))
    (run,) = fetch(client, auth, project, created["schedule_id"])["runs"]
    dep = client.get(f"/api/deployments/{run['deployment_id']}", headers=auth).json()
    assert dep["version"] == 1


def test_the_run_history_keeps_the_last_twenty_runs(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    created = schedule(client, auth, project, target="s3", token=None, expression="rate(1 hour)")
    at = due_time(created)
    for n in range(22):
        run_due(store, now=at + n * 3600)
    runs = fetch(client, auth, project, created["schedule_id"])["runs"]
    assert len(runs) == 20
    assert runs[0]["time"] > runs[-1]["time"]


# --- tokens, deletion, isolation ------------------------------------------------------


def test_a_schedules_token_is_kept_in_secrets_manager_and_not_in_the_table(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    created = schedule(client, auth, project)
    assert created["has_token"] is True and "token" not in created
    assert secret_exists(store, f"kiln/schedules/{created['schedule_id']}")
    assert TOKEN not in json.dumps(store.ddb.scan(TableName=store.table)["Items"])


def test_the_schedules_token_survives_its_deploys(
    client: TestClient,
    auth: dict[str, str],
    project: str,
    store: Store,
    drain: Drain,  # noqa: F811
) -> None:
    created = schedule(client, auth, project)
    run_due(store, now=due_time(created))
    assert drain() == ["succeeded"]
    assert secret_exists(store, f"kiln/schedules/{created['schedule_id']}")


def test_deleting_a_schedule_deletes_its_secret_and_its_runs_stop(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    created = schedule(client, auth, project)
    sid = created["schedule_id"]
    resp = client.delete(f"/api/projects/{project}/schedules/{sid}", headers=auth)
    assert resp.status_code == 204
    assert not secret_exists(store, f"kiln/schedules/{sid}")
    assert client.get(f"/api/projects/{project}/schedules", headers=auth).json() == []
    assert run_due(store, now=due_time(created))["due"] == 0


def test_another_owner_gets_404_on_every_schedule_route(
    client: TestClient, auth: dict[str, str], project: str
) -> None:
    sid = schedule(client, auth, project)["schedule_id"]
    other = {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}
    base = f"/api/projects/{project}/schedules"
    body = {"expression": "rate(1 day)", "target": "s3"}
    answers = [
        client.get(base, headers=other),
        client.post(base, json=body, headers=other),
        client.get(f"{base}/{sid}", headers=other),
        client.delete(f"{base}/{sid}", headers=other),
    ]
    assert [r.status_code for r in answers] == [404, 404, 404, 404]
    assert client.get(f"{base}/{sid}", headers=auth).status_code == 200
