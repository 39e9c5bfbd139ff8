"""`POST /api/deploy` as a client of the original interface calls it: the five-key `code`
with no framework, nulls where a key is unused, no token, and a `session_id`."""

# ruff: noqa: F811  (the `drain` fixture is imported, then named as a parameter)
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.frameworks import legacy_paths
from kiln.models import Framework
from kiln.store import deployments
from kiln.store.db import Store
from tests.fakes.deploy_servers import TOKEN, FakeNetlify
from tests.fakes.sites_cdn import quick_deploys
from tests.integration.test_deployments_api import Drain, drain  # noqa: F401

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "original"


def original_code(framework: str) -> dict[str, str]:
    """The five keys of a single-file-layout reply, as `code_generated` hands them out."""
    files = dict(
        re.findall(r'<kiln-file path="([^"]+)">\n(.*?)</kiln-file>', _text(framework), re.S)
    )
    return {key: files[path] for key, path in legacy_paths(Framework(framework)).items()}


def _text(framework: str) -> str:
    return (FIXTURES / f"{framework}.txt").read_text()


@pytest.fixture
def settings(settings: Settings, netlify_fake: FakeNetlify) -> Iterator[Settings]:
    """Netlify with the operator's token; no token for Vercel; kiln's hosting behind a fake
    CDN; the route answers at once."""
    name = f"ops/netlify-{uuid.uuid4().hex[:8]}"
    deployments.put_secret(Store(settings), name, TOKEN)
    with quick_deploys(settings) as quick:
        yield settings.model_copy(
            update={
                **quick,
                "netlify_api": netlify_fake.url,
                "netlify_token_secret": name,
                "sync_wait_s": 0.0,
            }
        )


@pytest.fixture
def anonymous(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(routes.ALL, settings=settings, store=store)) as c:
        yield c


def items(store: Store, prefix: str) -> list[object]:
    return store.ddb.scan(
        TableName=store.table,
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": prefix}},
    )["Items"]


@pytest.mark.parametrize("framework", ["react", "vue", "vanilla"])
def test_the_framework_is_read_from_the_code_when_not_given(
    anonymous: TestClient, store: Store, framework: str
) -> None:
    resp = anonymous.post(
        "/api/deploy", json={"code": original_code(framework), "platform": "netlify"}
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["deployment"]["framework"] == framework
    auth = {"Authorization": f"Bearer {body['token']}"}
    pid = body["deployment"]["project_id"]
    files = anonymous.get(f"/api/projects/{pid}/versions/1", headers=auth).json()["files"]
    for key, path in legacy_paths(Framework(framework)).items():
        assert files[path] == original_code(framework)[key]


def test_null_keys_are_accepted_and_keep_the_layouts_file(anonymous: TestClient) -> None:
    code = {**original_code("react"), "css": None, "js": None}
    resp = anonymous.post("/api/deploy", json={"code": code, "platform": "netlify"})
    assert resp.status_code == 202, resp.text
    body = resp.json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    pid = body["deployment"]["project_id"]
    files = anonymous.get(f"/api/projects/{pid}/versions/1", headers=auth).json()["files"]
    assert files["src/App.tsx"] == code["app"] and "src/index.css" in files


def test_a_refused_deploy_makes_no_project_and_no_owner(
    anonymous: TestClient, store: Store
) -> None:
    resp = anonymous.post("/api/deploy", json={"code": original_code("vue"), "platform": "vercel"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "token_required"
    assert items(store, "PROJECT#") == [] and items(store, "SESSION#") == []


def test_redeploying_the_sessions_project_updates_the_same_site(
    anonymous: TestClient, drain: Drain, netlify_fake: FakeNetlify
) -> None:
    session_id = str(uuid.uuid4())
    first = anonymous.post(
        "/api/deploy",
        json={"code": "<h1>one</h1>", "platform": "netlify", "session_id": session_id},
    ).json()
    assert drain() == ["succeeded"]
    second = anonymous.post(
        "/api/deploy",
        json={"code": "<h1>two</h1>", "platform": "netlify", "session_id": session_id},
    ).json()
    assert drain() == ["succeeded"]
    auth = {"Authorization": f"Bearer {first['token']}"}
    deps = [
        anonymous.get(r["deployment"]["status_url"], headers=auth).json() for r in (first, second)
    ]
    assert deps[0]["project_id"] == deps[1]["project_id"]
    assert [d["version"] for d in deps] == [1, 2]
    site = deps[0]["provider_ids"]["site"]
    assert deps[1]["provider_ids"]["site"] == site
    assert netlify_fake.published_files(site)["index.html"] == b"<h1>two</h1>"


def test_redeploying_the_sessions_project_to_kilns_hosting_keeps_its_url(
    anonymous: TestClient, drain: Drain
) -> None:
    session_id = str(uuid.uuid4())
    replies = []
    for page in ("<h1>one</h1>", "<h1>two</h1>"):
        replies.append(
            anonymous.post(
                "/api/deploy",
                json={"code": page, "platform": "s3", "session_id": session_id},
            ).json()
        )
        assert drain() == ["succeeded"]
    auth = {"Authorization": f"Bearer {replies[0]['token']}"}
    deps = [anonymous.get(r["deployment"]["status_url"], headers=auth).json() for r in replies]
    assert [d["version"] for d in deps] == [1, 2]
    assert deps[1]["url"] == deps[0]["url"]
    assert httpx.get(deps[1]["url"]).text == "<h1>two</h1>"
