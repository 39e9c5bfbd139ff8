"""Schedules are bounded (issue 21, part A): caps per owner and per project, tokens checked
with the provider before they are stored, a tick that reads every due schedule and is
fair between owners, and schedules of abandoned sessions expired with their secrets."""

# ruff: noqa: F811  (fixtures are imported, then named as parameters)
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.deploy import schedules
from kiln.deploy.schedules import fair_order, run_due
from kiln.generate import save_version
from kiln.models import Framework, ScheduleRequest
from kiln.store import projects
from kiln.store.db import Store
from kiln.store.sessions import last_seen, owner_for_token, token_hash
from tests.fakes.deploy_servers import TOKEN, FakeNetlify
from tests.integration.test_deployments_api import FILES
from tests.integration.test_schedules import due_time, project, schedule, settings  # noqa: F401

pytestmark = pytest.mark.integration


def secret_names(store: Store, prefix: str) -> set[str]:
    sm = store.client("secretsmanager")
    names: set[str] = set()
    for page in sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [prefix]}]
    ):
        names |= {s["Name"] for s in page["SecretList"] if s["Name"].startswith(prefix)}
    return names


def owner_of(store: Store, auth: dict[str, str]) -> str:
    owner = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    assert owner is not None
    return owner


def new_project(store: Store, owner: str, name: str = "Site") -> str:
    pid: str = projects.create_project(store, owner=owner, name=name, framework=Framework.vanilla)[
        "project_id"
    ]
    save_version(store, pid, FILES, parent=None, prompt="hello", job_id=None)
    return pid


def post(client: TestClient, auth: dict[str, str], pid: str, **body: Any) -> Any:
    body = {"expression": "rate(1 day)", "target": "netlify", "token": TOKEN, **body}
    return client.post(f"/api/projects/{pid}/schedules", json=body, headers=auth)


def limits(store: Store, **caps: int) -> None:
    store.settings = store.settings.model_copy(update=caps)


# --- caps -----------------------------------------------------------------------------


def test_an_owner_gets_no_more_schedules_than_the_owner_cap(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    limits(store, schedules_per_owner=3, schedules_per_project=10)
    owner = owner_of(store, auth)
    pids = [new_project(store, owner, f"Site {i}") for i in range(4)]
    made = [post(client, auth, pid) for pid in pids[:3]]
    assert [r.status_code for r in made] == [201, 201, 201]
    refused = post(client, auth, pids[3])
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_schedules"
    assert (
        len(
            secret_names(store, "kiln/schedules/")
            & {f"kiln/schedules/{r.json()['schedule_id']}" for r in made}
        )
        == 3
    )


def test_deleting_a_schedule_gives_its_place_back(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    limits(store, schedules_per_owner=1)
    sid = post(client, auth, project).json()["schedule_id"]
    assert post(client, auth, project).status_code == 409
    client.delete(f"/api/projects/{project}/schedules/{sid}", headers=auth)
    assert post(client, auth, project).status_code == 201


def test_a_project_gets_no_more_schedules_than_the_project_cap(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    limits(store, schedules_per_owner=10, schedules_per_project=2)
    assert [post(client, auth, project).status_code for _ in range(3)] == [201, 201, 409]
    assert len(client.get(f"/api/projects/{project}/schedules", headers=auth).json()) == 2


def test_a_refused_schedule_stores_no_token(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    limits(store, schedules_per_owner=1)
    post(client, auth, project)
    before = secret_names(store, "kiln/schedules/")
    assert post(client, auth, project).status_code == 409
    assert secret_names(store, "kiln/schedules/") == before


# --- the token is checked first -------------------------------------------------------


def test_a_token_the_provider_refuses_is_never_stored(
    client: TestClient, auth: dict[str, str], project: str, store: Store, netlify_fake: FakeNetlify
) -> None:
    before = secret_names(store, "kiln/schedules/")
    answers = [post(client, auth, project, token=f"junk-{i}") for i in range(5)]
    assert {(r.status_code, r.json()["error"]["code"]) for r in answers} == {(422, "deploy_auth")}
    assert secret_names(store, "kiln/schedules/") == before
    checks = netlify_fake.calls("GET", "/user")
    assert [c.headers["authorization"] for c in checks] == [f"Bearer junk-{i}" for i in range(5)]
    assert client.get(f"/api/projects/{project}/schedules", headers=auth).json() == []


def test_a_refused_token_does_not_use_up_the_owner_cap(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    limits(store, schedules_per_owner=1)
    assert post(client, auth, project, token="junk").status_code == 422
    assert post(client, auth, project).status_code == 201


def test_a_good_token_is_checked_once_then_stored(
    client: TestClient, auth: dict[str, str], project: str, store: Store, netlify_fake: FakeNetlify
) -> None:
    sid = post(client, auth, project).json()["schedule_id"]
    assert len(netlify_fake.calls("GET", "/user")) == 1
    assert f"kiln/schedules/{sid}" in secret_names(store, "kiln/schedules/")


# --- the tick -------------------------------------------------------------------------


def direct_schedules(store: Store, owner: str, pid: str, count: int, at: float) -> None:
    """Schedules written straight to the table (the API's caps would stop a test's hundreds)."""
    req = ScheduleRequest(expression="rate(1 day)", target="s3")
    for _ in range(count):
        sid = projects.new_id("s_")
        schedules._put_schedule(store, owner, pid, sid, req, {}, at, False)


def test_the_tick_starts_every_due_schedule_not_only_the_first_hundred(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    limits(store, schedule_runs_per_owner_per_tick=1000, daily_job_quota=1000)
    owner = owner_of(store, auth)
    pid = new_project(store, owner)
    direct_schedules(store, owner, pid, 130, at=1_000.0)
    counts = run_due(store, now=2_000.0)
    assert counts["due"] == 130 and counts["started"] == 130
    assert run_due(store, now=2_000.0)["due"] == 0


def test_the_tick_takes_turns_between_owners_and_caps_each_owner(
    client: TestClient, store: Store
) -> None:
    limits(store, schedule_runs_per_owner_per_tick=2)
    heavy = owner_of(
        store, {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}
    )
    light = owner_of(
        store, {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}
    )
    heavy_pid, light_pid = new_project(store, heavy), new_project(store, light)
    direct_schedules(store, heavy, heavy_pid, 7, at=1_000.0)  # due first: oldest
    direct_schedules(store, light, light_pid, 1, at=1_500.0)
    first = run_due(store, now=2_000.0)
    assert (first["started"], first["deferred"]) == (3, 5)
    started = [d["project_id"] for d in _deployments(store)]
    assert sorted(started) == sorted([heavy_pid, heavy_pid, light_pid])
    assert run_due(store, now=2_000.0)["started"] == 2  # the heavy owner's next two


def _deployments(store: Store) -> list[dict[str, Any]]:
    items = store.ddb.scan(
        TableName=store.table,
        FilterExpression="begins_with(PK, :d)",
        ExpressionAttributeValues={":d": {"S": "DEPLOY#"}},
    )["Items"]
    return [{"project_id": i["project_id"]["S"]} for i in items]


def test_fair_order_alternates_owners_oldest_first() -> None:
    due = [{"owner": o, "n": n} for n, o in enumerate("aaaab")]
    assert [(s["owner"], s["n"]) for s in fair_order(due, 3)] == [
        ("a", 0),
        ("b", 4),
        ("a", 1),
        ("a", 2),
    ]


# --- abandoned sessions ---------------------------------------------------------------


def test_a_schedule_of_an_owner_not_seen_for_the_idle_period_expires_with_its_secret(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    limits(store, schedule_idle_days=30, schedules_per_owner=1)
    created = schedule(client, auth, project)
    sid = created["schedule_id"]
    later = due_time(created) + 30 * 86400
    counts = run_due(store, now=later)
    assert (counts["expired"], counts["started"]) == (1, 0)
    assert f"kiln/schedules/{sid}" not in secret_names(store, "kiln/schedules/")
    assert client.get(f"/api/projects/{project}/schedules", headers=auth).json() == []
    assert post(client, auth, project).status_code == 201  # its place was given back


def test_a_schedule_of_an_owner_seen_within_the_idle_period_runs(
    client: TestClient, auth: dict[str, str], project: str, store: Store
) -> None:
    limits(store, schedule_idle_days=30)
    created = schedule(client, auth, project)
    counts = run_due(store, now=due_time(created) + 28 * 86400)
    assert (counts["expired"], counts["started"]) == (0, 1)
    assert f"kiln/schedules/{created['schedule_id']}" in secret_names(store, "kiln/schedules/")


def test_using_a_session_marks_its_owner_seen(client: TestClient, store: Store) -> None:
    token = client.post("/api/sessions").json()["token"]
    session = store.ddb.get_item(
        TableName=store.table,
        Key={"PK": {"S": f"SESSION#{token_hash(token)}"}, "SK": {"S": "META"}},
    )["Item"]
    owner = session["owner"]["S"]
    assert last_seen(store, [owner]) == {}
    answer = client.get("/api/projects", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert owner in last_seen(store, [owner])
