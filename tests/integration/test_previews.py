"""Preview links: a green version's build behind an unguessable public URL that expires."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.config import Settings
from kiln.gate.queue import request_build, run_build_job
from kiln.generate import save_version
from kiln.models import Framework
from kiln.preview_links import preview_prefix, sweep_expired
from kiln.store import projects
from kiln.store.db import Store, sort_key, to_item, to_values
from kiln.store.sessions import owner_for_token
from tests.fakes.gate_support import VANILLA_OK, needs_node

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No render check here: these tests are about links, not the badge."""
    return settings.model_copy(update={"render_check": False})


# No package.json: the gate serves these files as they are, so no npm run is needed.
STATIC = {
    "index.html": '<!doctype html><div id="app"></div><script src="app.js"></script>',
    "app.js": "document.querySelector('#app').textContent = 'static-preview';\n",
}


def owner_of(auth: dict[str, str], store: Store) -> str:
    owner = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    assert owner is not None
    return str(owner)


def built_version(
    store: Store, owner: str, files: dict[str, str], framework: Framework = Framework.vanilla
) -> tuple[str, int]:
    """A project with one version that went through the gate."""
    project = projects.create_project(store, owner=owner, name="t", framework=framework)
    pid = project["project_id"]
    n = save_version(store, pid, files, parent=None, prompt="t", job_id=None)
    job_id = request_build(store, pid, n, owner)
    assert job_id is not None
    run_build_job(store, job_id)
    return pid, n


def expire(store: Store, token: str) -> None:
    """The controlled clock: move the link's expiry into the past."""
    past = time.time() - 1
    store.ddb.update_item(
        TableName=store.table,
        Key=to_item({"PK": f"PREVIEW#{token}", "SK": "META"}),
        UpdateExpression="SET expiry = :t, GSI2SK = :k",
        ExpressionAttributeValues=to_values({":t": past, ":k": sort_key(past)}),
    )


def create(client: TestClient, auth: dict[str, str], pid: str, n: int, **body: Any) -> Any:
    return client.post(f"/api/projects/{pid}/versions/{n}/preview", json=body, headers=auth)


@needs_node
def test_a_preview_link_serves_the_vite_built_app_with_content_types(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    files = {**_vanilla_skeleton(), "src/main.js": VANILLA_OK.split("\n", 2)[2].split("</kiln")[0]}
    pid, n = built_version(store, owner_of(auth, store), files)
    link = create(client, auth, pid, n).json()
    page = client.get(link["url"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    script = page.text.split('src="./', 1)[1].split('"', 1)[0]
    asset = client.get(link["url"] + script)
    assert asset.headers["content-type"].startswith("text/javascript")
    assert b"gate-ok" in asset.content


def test_a_preview_link_answers_410_after_expiry(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    link = create(client, auth, pid, n).json()
    assert client.get(link["url"]).status_code == 200
    expire(store, link["token"])
    gone = client.get(link["url"])
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "preview_expired"


def test_a_preview_is_sandboxed_away_from_the_apps_origin(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    page = client.get(create(client, auth, pid, n).json()["url"])
    assert page.headers["content-security-policy"].startswith("sandbox allow-scripts")


def test_the_link_expires_after_seven_days_by_default_and_ttl_hours_shortens_it(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    from datetime import datetime

    pid, n = built_version(store, owner_of(auth, store), STATIC)

    def hours(link: dict[str, Any]) -> float:
        expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
        return (expires.timestamp() - time.time()) / 3600

    assert hours(create(client, auth, pid, n).json()) == pytest.approx(168, abs=0.1)
    assert hours(create(client, auth, pid, n, ttl_hours=2).json()) == pytest.approx(2, abs=0.1)


def test_a_link_longer_than_thirty_days_is_refused(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    resp = create(client, auth, pid, n, ttl_hours=24 * 31)
    assert (resp.status_code, resp.json()["error"]["code"]) == (422, "ttl_too_long")


def test_only_the_owner_can_create_a_preview(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    other = {"Authorization": "Bearer " + client.post("/api/sessions").json()["token"]}
    assert create(client, other, pid, n).status_code == 404


def test_the_link_itself_needs_no_session(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    url = create(client, auth, pid, n).json()["url"]
    assert b"static-preview" in client.get(url + "app.js").content


@needs_node
def test_a_red_version_cannot_be_shared(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    files = {"package.json": "{ not json", "index.html": "<p>x</p>"}
    pid, n = built_version(store, owner_of(auth, store), files)
    resp = create(client, auth, pid, n)
    assert (resp.status_code, resp.json()["error"]["code"]) == (409, "version_red")


def test_a_version_the_gate_never_built_is_built_for_its_link(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    project = projects.create_project(
        store, owner=owner_of(auth, store), name="t", framework=Framework.vanilla
    )
    n = save_version(store, project["project_id"], STATIC, parent=None, prompt="t", job_id=None)
    link = create(client, auth, project["project_id"], n).json()
    assert b"static-preview" in client.get(link["url"] + "app.js").content


def test_the_sweeper_deletes_an_expired_previews_files_and_the_link_stays_gone(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    link = create(client, auth, pid, n).json()
    expire(store, link["token"])
    assert sweep_expired(store) == 1
    listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=preview_prefix(link["token"]))
    assert listed.get("KeyCount", 0) == 0
    assert client.get(link["url"]).status_code == 410


def test_the_sweeper_leaves_live_previews_alone(
    client: TestClient, auth: dict[str, str], store: Store
) -> None:
    pid, n = built_version(store, owner_of(auth, store), STATIC)
    link = create(client, auth, pid, n).json()
    assert sweep_expired(store) == 0
    assert client.get(link["url"]).status_code == 200


def test_an_unknown_token_is_404(client: TestClient) -> None:
    assert client.get("/api/previews/nope/").status_code == 404


def _vanilla_skeleton() -> dict[str, str]:
    from kiln.frameworks import skeleton

    return dict(skeleton(Framework.vanilla))
