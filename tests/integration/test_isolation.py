"""Isolation between anonymous owners: every route that takes an id answers another owner
404 (never 403, so ids cannot be probed); ids carry >= 128 random bits; the session token
is kept only as its SHA-256. Routes are enumerated from `routes.ALL`, so a new route with
an id is checked the moment it exists."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.checks.format import CHECKS_PATH, with_check
from kiln.config import Settings
from kiln.generate import save_version
from kiln.store.builds import save_check_screenshot
from kiln.store.db import Store, from_item
from kiln.store.projects import new_id

pytestmark = pytest.mark.integration

# Path parameters that are not an owner's id: the preview link token *is* the credential
# (a public, expiring, unguessable link), and `path` is a file inside it.
PUBLIC_PARAMS = {"token", "path"}
# A valid body per route, so the answer is about ownership, not validation. A new route
# with a body and no entry here fails `test_every_route_with_an_id_hides_...` with 422.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/projects/{project_id}/versions"): {
        "base_version": 1,
        "files": {"index.html": "<p>mine now</p>"},
    },
    ("PATCH", "/api/projects/{project_id}"): {"name": "taken"},
    ("POST", "/api/projects/{project_id}/schedules"): {"expression": "rate(1 day)", "target": "s3"},
    ("POST", "/api/projects/{project_id}/versions/{number}/preview"): {"ttl_hours": 1},
    ("PUT", "/api/projects/{project_id}/checks"): {
        "base_version": 1,
        "name": "adds a task",
        "body": "open /\nexpect no page errors",
    },
}
# A valid query string per route, for the same reason.
QUERIES: dict[tuple[str, str], str] = {
    ("DELETE", "/api/projects/{project_id}/checks/{name}"): "?base_version=1",
}
ID_SHAPE = re.compile(r"^[a-z]_[0-9a-f]{32}$")


@dataclass
class World:
    client: TestClient
    alice: dict[str, str]
    mallory: dict[str, str]
    ids: dict[str, str]


def _bearer(client: TestClient) -> dict[str, str]:
    return {"Authorization": "Bearer " + client.post("/api/sessions").json()["token"]}


@pytest.fixture
def world(settings: Settings, store: Store) -> Iterator[World]:
    """Alice owns a project with a version (one failed check's screenshot with it), a
    generation job, a deployment and a schedule."""
    with TestClient(create_app(routes.ALL, settings=settings, store=store)) as client:
        alice, mallory = _bearer(client), _bearer(client)
        gen = client.post(
            "/api/generations",
            json={"prompt": "a todo list", "framework": "vanilla"},
            headers=alice,
        ).json()
        pid = gen["project_id"]
        save_version(
            store,
            pid,
            {
                "index.html": "<h1>v1</h1>",
                CHECKS_PATH: with_check(None, "adds a task", "open /\nexpect no page errors"),
            },
            parent=None,
            prompt="p",
            job_id=None,
        )
        save_check_screenshot(store, pid, 1, 0, b"\x89PNG\r\n\x1a\n")
        dep = client.post(
            "/api/deployments", json={"project_id": pid, "target": "s3"}, headers=alice
        )
        assert dep.status_code == 202, dep.text
        sched = client.post(
            f"/api/projects/{pid}/schedules",
            json={"expression": "rate(1 day)", "target": "s3"},
            headers=alice,
        )
        assert sched.status_code == 201, sched.text
        ids = {
            "project_id": pid,
            "job_id": gen["job_id"],
            "deployment_id": dep.json()["deployment_id"],
            "schedule_id": sched.json()["schedule_id"],
            "number": "1",
            "index": "0",
            "name": "adds a task",
        }
        yield World(client, alice, mallory, ids)


def routes_with_ids() -> list[tuple[str, str, list[str]]]:
    found = []
    for router in routes.ALL:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            params = [p.name for p in route.dependant.path_params]
            if params and not set(params) & PUBLIC_PARAMS:
                found.extend((m, route.path, params) for m in sorted(route.methods))
    return found


def test_the_routes_with_ids_are_found() -> None:
    paths = {path for _, path, _ in routes_with_ids()}
    assert {"/api/jobs/{job_id}", "/api/projects/{project_id}"} <= paths
    assert len(paths) >= 8


def test_every_route_with_an_id_hides_another_owners_resource_behind_404(world: World) -> None:
    checked = []
    for method, path, params in routes_with_ids():
        unknown = set(params) - set(world.ids)
        assert not unknown, f"{method} {path}: no fixture id for {unknown}; add one to `world`"
        url = path.format(**world.ids) + QUERIES.get((method, path), "")
        body = BODIES.get((method, path))
        resp = world.client.request(method, url, json=body, headers=world.mallory)
        assert resp.status_code == 404, f"{method} {path}: {resp.status_code} {resp.text[:200]}"
        assert resp.json()["error"]["code"] == "not_found"
        checked.append(f"{method} {path}")
    print(f"\n{len(checked)} routes answered another owner 404")


def test_the_owner_gets_what_another_owner_is_refused(world: World) -> None:
    """The 404s above are about ownership: the same reads succeed for the owner."""
    for method, path, _ in routes_with_ids():
        if method != "GET":
            continue
        resp = world.client.get(path.format(**world.ids), headers=world.alice)
        assert resp.status_code == 200, f"GET {path}: {resp.status_code} {resp.text[:200]}"


def test_ids_in_bodies_and_queries_are_checked_against_the_owner(world: World) -> None:
    pid = world.ids["project_id"]
    c, mallory = world.client, world.mallory
    edit = c.post(
        "/api/generations", json={"prompt": "steal it", "project_id": pid}, headers=mallory
    )
    deploy = c.post("/api/deployments", json={"project_id": pid, "target": "s3"}, headers=mallory)
    listing = c.get("/api/deployments", params={"project_id": pid}, headers=mallory)
    for resp in (edit, deploy, listing):
        assert resp.status_code == 404, resp.text
    assert c.get("/api/projects", headers=mallory).json() == []


def test_a_missing_or_wrong_token_is_401_not_a_leak(world: World) -> None:
    url = f"/api/projects/{world.ids['project_id']}"
    for headers in ({}, {"Authorization": "Bearer kiln_nope"}, {"Authorization": "Basic x"}):
        resp = world.client.get(url, headers=headers)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


def test_resource_ids_carry_128_random_bits(world: World) -> None:
    for name in ("project_id", "job_id", "deployment_id", "schedule_id"):
        assert ID_SHAPE.match(world.ids[name]), world.ids[name]
    sample = [new_id("p_")[2:] for _ in range(2000)]
    assert len(set(sample)) == len(sample)
    # every one of the 32 hex digits takes (nearly) all 16 values: no fixed or counter part
    for position in range(32):
        assert len({s[position] for s in sample}) == 16


def test_a_session_token_has_256_bits_and_is_stored_only_as_its_sha256(
    world: World, store: Store
) -> None:
    token = world.alice["Authorization"].removeprefix("Bearer ")
    assert len(token.removeprefix("kiln_")) >= 43  # 32 bytes, URL-safe base64
    items = [from_item(i) for i in store.ddb.scan(TableName=store.table)["Items"]]
    dump = repr(items)
    assert token not in dump and token.removeprefix("kiln_") not in dump
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert any(i["PK"] == f"SESSION#{digest}" for i in items)
