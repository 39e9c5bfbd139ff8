"""The operator's deploy tokens can't be turned against the operator (issue 21, part A).

Each attack runs through the API and the real deploy worker against the fake Vercel,
Netlify and GitHub servers, which record every request they receive: a visitor tries to
reach a resource kiln did not create for them (another visitor's, or the operator's own
production site) by naming it, by selecting it, or by smuggling a path into an option,
once and through a `rate(1 minute)` schedule.
"""

# ruff: noqa: F811  (the `drain` fixture is imported, then named as a parameter)
from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kiln.config import Settings
from kiln.deploy import github, netlify
from kiln.deploy.journal import Journal, SiteFiles
from kiln.deploy.schedules import run_due
from kiln.errors import ProviderError
from kiln.generate import save_version
from kiln.models import Framework
from kiln.store import deployments, projects
from kiln.store.db import Store
from kiln.store.sessions import owner_for_token
from tests.fakes.deploy_servers import TOKEN, Crash, FakeGitHub, FakeNetlify, FakeVercel, Saves
from tests.integration.test_deployments_api import FILES, Drain, drain  # noqa: F401
from tests.integration.test_schedules import due_time

pytestmark = pytest.mark.integration

PATH_ATTACK = "ANY/../../../accounts/acme/env?x=#"
OPERATOR_SITE = "acme-prod"  # the operator's own production site, made outside kiln


@pytest.fixture
def settings(
    settings: Settings,
    vercel_fake: FakeVercel,
    netlify_fake: FakeNetlify,
    github_fake: FakeGitHub,
) -> Settings:
    """The stack on the fakes, with the operator's token (in Secrets Manager on the moto
    server) configured for every target."""
    secrets = {}
    for target in ("vercel", "netlify", "github"):
        name = f"ops/{target}-{uuid.uuid4().hex[:8]}"
        deployments.put_secret(Store(settings), name, TOKEN)
        secrets[f"{target}_token_secret"] = name
    return settings.model_copy(
        update={
            "vercel_api": vercel_fake.url,
            "netlify_api": netlify_fake.url,
            "github_api": github_fake.url,
            "deploy_poll_interval_s": 0.01,
            "deploy_requeue_delay_s": 0,
            "build_gate": False,
            "render_check": False,
            **secrets,
        }
    )


def visitor(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.post('/api/sessions').json()['token']}"}


def project_of(client: TestClient, auth: dict[str, str], store: Store, name: str) -> str:
    owner = owner_for_token(store, auth["Authorization"].removeprefix("Bearer "))
    assert owner is not None
    pid: str = projects.create_project(store, owner=owner, name=name, framework=Framework.vanilla)[
        "project_id"
    ]
    save_version(store, pid, FILES, parent=None, prompt="hello", job_id=None)
    return pid


def post_deploy(
    client: TestClient, auth: dict[str, str], pid: str, target: str, **body: Any
) -> httpx.Response:
    return client.post(
        "/api/deployments", json={"project_id": pid, "target": target, **body}, headers=auth
    )


def deployed(
    client: TestClient, auth: dict[str, str], pid: str, target: str, drain: Drain, **body: Any
) -> dict[str, Any]:
    """Deploy with the operator's token (no `token`) and return the finished deployment."""
    resp = post_deploy(client, auth, pid, target, **body)
    assert resp.status_code == 202, resp.text
    assert drain() == ["succeeded"]
    dep: dict[str, Any] = client.get(
        f"/api/deployments/{resp.json()['deployment_id']}", headers=auth
    ).json()
    return dep


def provider(fake: Any, method: str, path: str, body: Any) -> Any:
    resp = httpx.request(
        method,
        f"{fake.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": "operator"},
    )
    assert resp.is_success, resp.text
    return resp.json()


@pytest.fixture
def people(client: TestClient, store: Store) -> dict[str, Any]:
    """A victim and an attacker, each with a project."""
    victim, attacker = visitor(client), visitor(client)
    return {
        "victim": victim,
        "victim_project": project_of(client, victim, store, "Victim Shop"),
        "attacker": attacker,
        "attacker_project": project_of(client, attacker, store, "Evil"),
    }


def netlify_deploys_to(fake: FakeNetlify, site_id: str) -> int:
    return len([d for d in fake.deploys.values() if d["site_id"] == site_id])


# --- Netlify --------------------------------------------------------------------------


def test_netlify_a_taken_name_never_adopts_the_operators_own_site(
    client: TestClient, people: dict[str, Any], drain: Drain, netlify_fake: FakeNetlify
) -> None:
    site = provider(netlify_fake, "POST", "/sites", {"name": OPERATOR_SITE})
    dep = deployed(
        client,
        people["attacker"],
        people["attacker_project"],
        "netlify",
        drain,
        options={"name": OPERATOR_SITE},
    )
    assert netlify_deploys_to(netlify_fake, site["id"]) == 0
    assert dep["provider_ids"]["site"] != site["id"]
    assert netlify_fake.calls("GET", f"/sites/{OPERATOR_SITE}.netlify.app") == []


def test_netlify_a_taken_name_never_adopts_another_visitors_site(
    client: TestClient, people: dict[str, Any], drain: Drain, netlify_fake: FakeNetlify
) -> None:
    victim = deployed(client, people["victim"], people["victim_project"], "netlify", drain)
    victim_site = netlify_fake.sites[victim["provider_ids"]["site"]]
    attack = deployed(
        client,
        people["attacker"],
        people["attacker_project"],
        "netlify",
        drain,
        options={"name": victim_site["name"]},
    )
    assert netlify_deploys_to(netlify_fake, victim_site["id"]) == 1
    assert attack["provider_ids"]["site"] != victim_site["id"]


def test_netlify_site_id_is_refused_with_the_operators_token(
    client: TestClient, people: dict[str, Any], netlify_fake: FakeNetlify
) -> None:
    site = provider(netlify_fake, "POST", "/sites", {"name": OPERATOR_SITE})
    resp = post_deploy(
        client,
        people["attacker"],
        people["attacker_project"],
        "netlify",
        options={"site_id": site["id"]},
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "own_token_required"
    assert netlify_deploys_to(netlify_fake, site["id"]) == 0


def test_netlify_redeploys_reuse_the_site_kiln_created_for_the_project(
    client: TestClient, people: dict[str, Any], drain: Drain, netlify_fake: FakeNetlify
) -> None:
    who, pid = people["victim"], people["victim_project"]
    first = deployed(client, who, pid, "netlify", drain)
    second = deployed(client, who, pid, "netlify", drain, options={"name": "something-else"})
    assert second["provider_ids"]["site"] == first["provider_ids"]["site"]
    assert len(netlify_fake.sites) == 1


def test_netlify_a_path_in_site_id_is_refused_even_with_a_users_own_token(
    client: TestClient, people: dict[str, Any], netlify_fake: FakeNetlify
) -> None:
    resp = post_deploy(
        client,
        people["attacker"],
        people["attacker_project"],
        "netlify",
        token=TOKEN,
        options={"site_id": PATH_ATTACK},
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"
    assert netlify_fake.requests == []


def test_netlify_a_site_id_reaching_the_client_stays_one_quoted_path_segment(
    netlify_fake: FakeNetlify,
) -> None:
    site = SiteFiles(deployment_id="d-1", name="hello", files={"index.html": "<h1>hi</h1>"})
    with pytest.raises(ProviderError):
        netlify.deploy(
            site,
            token=TOKEN,
            journal=Journal(target="netlify"),
            options={"site_id": PATH_ATTACK},
            api=netlify_fake.url,
            poll_interval_s=0.01,
        )
    assert netlify_fake.requests, "the client did call the fake"
    for rec in netlify_fake.requests:
        assert rec.raw_path.startswith("/sites/ANY%2F..%2F..%2F..%2Faccounts%2Facme%2Fenv%3F")
        assert not rec.raw_path.startswith("/accounts")


# --- GitHub ---------------------------------------------------------------------------


def test_github_a_taken_name_never_adopts_the_operators_own_repository(
    client: TestClient, people: dict[str, Any], drain: Drain, github_fake: FakeGitHub
) -> None:
    provider(github_fake, "POST", "/user/repos", {"name": OPERATOR_SITE, "auto_init": True})
    before = dict(github_fake.repos[f"octo/{OPERATOR_SITE}"]["refs"])
    dep = deployed(
        client,
        people["attacker"],
        people["attacker_project"],
        "github",
        drain,
        options={"name": OPERATOR_SITE},
    )
    repo = github_fake.repos[f"octo/{OPERATOR_SITE}"]
    assert repo["refs"] == before and repo["pages"] is None
    assert dep["provider_ids"]["repo"] != OPERATOR_SITE
    assert github_fake.calls("GET", f"/repos/octo/{OPERATOR_SITE}") == []


def test_github_an_org_is_refused_with_the_operators_token(
    client: TestClient, people: dict[str, Any], github_fake: FakeGitHub
) -> None:
    resp = post_deploy(
        client, people["attacker"], people["attacker_project"], "github", options={"org": "acme"}
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "own_token_required"
    assert github_fake.requests == []


def test_github_redeploys_reuse_the_repository_kiln_created_for_the_project(
    client: TestClient, people: dict[str, Any], drain: Drain, github_fake: FakeGitHub
) -> None:
    who, pid = people["victim"], people["victim_project"]
    first = deployed(client, who, pid, "github", drain)
    second = deployed(client, who, pid, "github", drain)
    assert second["provider_ids"]["repo"] == first["provider_ids"]["repo"]
    assert len(github_fake.repos) == 1


def test_github_an_org_reaching_the_client_stays_one_quoted_path_segment(
    github_fake: FakeGitHub,
) -> None:
    site = SiteFiles(deployment_id="d-1", name="hello", files={"index.html": "<h1>hi</h1>"})
    attack = "ANY/../../user/keys?x=#"
    with pytest.raises(ProviderError):
        github.deploy(
            site,
            token=TOKEN,
            journal=Journal(target="github"),
            options={"org": attack},
            api=github_fake.url,
            poll_interval_s=0.01,
        )
    assert [r.raw_path for r in github_fake.requests] == [
        "/orgs/ANY%2F..%2F..%2Fuser%2Fkeys%3Fx%3D%23/repos"
    ]


# --- Vercel ---------------------------------------------------------------------------


def test_vercel_a_name_never_deploys_into_the_operators_own_project(
    client: TestClient, people: dict[str, Any], drain: Drain, vercel_fake: FakeVercel
) -> None:
    provider(vercel_fake, "POST", "/v13/deployments", {"name": OPERATOR_SITE, "files": []})
    dep = deployed(
        client,
        people["attacker"],
        people["attacker_project"],
        "vercel",
        drain,
        options={"name": OPERATOR_SITE},
    )
    names = [d["name"] for d in vercel_fake.deployments.values()]
    assert names.count(OPERATOR_SITE) == 1
    assert not dep["url"].startswith(f"https://{OPERATOR_SITE}.")


def test_vercel_a_team_id_is_refused_with_the_operators_token(
    client: TestClient, people: dict[str, Any], vercel_fake: FakeVercel
) -> None:
    resp = post_deploy(
        client,
        people["attacker"],
        people["attacker_project"],
        "vercel",
        options={"team_id": "team_acme"},
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "own_token_required"
    assert vercel_fake.requests == []


def test_vercel_redeploys_reuse_the_project_kiln_created_for_the_project(
    client: TestClient, people: dict[str, Any], drain: Drain, vercel_fake: FakeVercel
) -> None:
    who, pid = people["victim"], people["victim_project"]
    deployed(client, who, pid, "vercel", drain)
    deployed(client, who, pid, "vercel", drain, options={"name": "renamed"})
    assert len({d["name"] for d in vercel_fake.deployments.values()}) == 1


@pytest.mark.parametrize(
    ("target", "options"),
    [
        ("vercel", {"team_id": "team_x&teamId=team_acme"}),
        ("vercel", {"team_id": PATH_ATTACK}),
        ("vercel", {"name": "../acme"}),
        ("vercel", {"target": "production/../x"}),
        ("netlify", {"site_id": "../acme"}),
        ("netlify", {"site_id": ".."}),
        ("github", {"org": PATH_ATTACK}),
        ("github", {"name": "acme/../../keys"}),
        ("github", {"private": "yes"}),
    ],
)
def test_options_that_could_leave_their_url_segment_are_refused_with_any_token(
    client: TestClient, people: dict[str, Any], target: str, options: dict[str, Any]
) -> None:
    resp = post_deploy(
        client,
        people["attacker"],
        people["attacker_project"],
        target,
        token=TOKEN,
        options=options,
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"


def test_a_users_own_token_may_still_select_a_site_it_owns(
    client: TestClient, people: dict[str, Any], drain: Drain, netlify_fake: FakeNetlify
) -> None:
    site = provider(netlify_fake, "POST", "/sites", {"name": "mine"})
    resp = post_deploy(
        client,
        people["victim"],
        people["victim_project"],
        "netlify",
        token=TOKEN,
        options={"site_id": site["id"]},
    )
    assert resp.status_code == 202, resp.text
    assert drain() == ["succeeded"]
    assert netlify_deploys_to(netlify_fake, site["id"]) == 1


# --- through a schedule ---------------------------------------------------------------


def operator_resource(target: str, fakes: dict[str, Any]) -> dict[str, Any]:
    """The operator's own production resource at `target`, made outside kiln."""
    fake = fakes[target]
    if target == "netlify":
        return provider(fake, "POST", "/sites", {"name": OPERATOR_SITE})
    if target == "github":
        return provider(fake, "POST", "/user/repos", {"name": OPERATOR_SITE, "auto_init": True})
    return provider(fake, "POST", "/v13/deployments", {"name": OPERATOR_SITE, "files": []})


def untouched_and_one_kiln_resource(target: str, fakes: dict[str, Any], own: Any) -> bool:
    fake = fakes[target]
    if target == "netlify":
        return netlify_deploys_to(fake, own["id"]) == 0 and len(fake.sites) == 2
    if target == "github":
        repo = fake.repos[f"octo/{OPERATOR_SITE}"]
        return list(repo["refs"]) == ["main"] and repo["pages"] is None and len(fake.repos) == 2
    names = [d["name"] for d in fake.deployments.values()]
    return names.count(OPERATOR_SITE) == 1 and len(set(names)) == 2


SELECTOR = {"netlify": "site_id", "github": "org", "vercel": "team_id"}


@pytest.mark.parametrize("target", ["netlify", "github", "vercel"])
def test_a_minutely_schedule_never_reaches_a_resource_kiln_did_not_create(
    client: TestClient,
    people: dict[str, Any],
    store: Store,
    drain: Drain,
    netlify_fake: FakeNetlify,
    github_fake: FakeGitHub,
    vercel_fake: FakeVercel,
    target: str,
) -> None:
    fakes = {"netlify": netlify_fake, "github": github_fake, "vercel": vercel_fake}
    own = operator_resource(target, fakes)
    selector = {"site_id": own.get("id", "x"), "org": "octo", "team_id": "team_acme"}
    who, pid = people["attacker"], people["attacker_project"]
    base = f"/api/projects/{pid}/schedules"
    every_minute = {"expression": "rate(1 minute)", "target": target}
    key = SELECTOR[target]
    refused = client.post(base, json={**every_minute, "options": {key: selector[key]}}, headers=who)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "own_token_required"
    created = client.post(
        base, json={**every_minute, "options": {"name": OPERATOR_SITE}}, headers=who
    )
    assert created.status_code == 201, created.text
    at = due_time(created.json())
    for minute in range(3):
        assert run_due(store, now=at + 60 * minute)["started"] == 1
        assert drain() == ["succeeded"]
    assert untouched_and_one_kiln_resource(target, fakes, own)


# --- a crash around the create, with the operator's token -----------------------------

TINY = SiteFiles(deployment_id="d-1", name="kiln-made-1f2e3d4c", files={"index.html": "<h1/>"})


def test_netlify_operator_resumes_the_site_it_asked_for_before_a_crash(
    netlify_fake: FakeNetlify,
) -> None:
    saves = Saves(crash_at=2)  # 1: the name it will ask for; 2: the site id, lost
    kw: dict[str, Any] = {"token": TOKEN, "options": {}, "api": netlify_fake.url}
    with pytest.raises(Crash):
        netlify.deploy(TINY, journal=Journal(target="netlify"), save=saves, operator=True, **kw)
    outcome = netlify.deploy(TINY, journal=saves.last("netlify"), operator=True, **kw)
    assert outcome.state == "ready" and len(netlify_fake.sites) == 1
    assert len(netlify_fake.calls("GET", f"/sites/{TINY.name}.netlify.app")) == 1  # the adoption


def test_netlify_operator_never_looks_up_a_name_it_did_not_ask_for(
    netlify_fake: FakeNetlify,
) -> None:
    provider(netlify_fake, "POST", "/sites", {"name": TINY.name})
    with pytest.raises(ProviderError) as err:
        netlify.deploy(
            TINY,
            token=TOKEN,
            journal=Journal(target="netlify"),
            options={},
            api=netlify_fake.url,
            operator=True,
        )
    assert err.value.code == "deploy_name_taken"
    assert netlify_fake.calls("GET", "/sites/.*") == []


def test_github_operator_resumes_the_repository_it_asked_for_before_a_crash(
    github_fake: FakeGitHub,
) -> None:
    saves = Saves(crash_at=3)  # 1: owner; 2: the name it will ask for; 3: the repo, lost
    kw: dict[str, Any] = {"token": TOKEN, "options": {}, "api": github_fake.url}
    with pytest.raises(Crash):
        github.deploy(TINY, journal=Journal(target="github"), save=saves, operator=True, **kw)
    outcome = github.deploy(
        TINY, journal=saves.last("github"), operator=True, poll_interval_s=0.01, **kw
    )
    assert outcome.state == "ready" and list(github_fake.repos) == [f"octo/{TINY.name}"]
    assert len(github_fake.calls("GET", f"/repos/octo/{TINY.name}")) == 1  # the adoption


def test_github_operator_never_adopts_a_repository_it_did_not_ask_for(
    github_fake: FakeGitHub,
) -> None:
    provider(github_fake, "POST", "/user/repos", {"name": TINY.name, "auto_init": True})
    with pytest.raises(ProviderError) as err:
        github.deploy(
            TINY,
            token=TOKEN,
            journal=Journal(target="github"),
            options={},
            api=github_fake.url,
            operator=True,
        )
    assert err.value.code == "deploy_name_taken"
    assert github_fake.calls("GET", f"/repos/octo/{TINY.name}") == []


def test_the_legacy_deploy_route_refuses_a_site_id_with_the_operators_token(
    client: TestClient, netlify_fake: FakeNetlify
) -> None:
    site = provider(netlify_fake, "POST", "/sites", {"name": OPERATOR_SITE})
    resp = client.post(
        "/api/deploy",
        json={"code": "<h1>x</h1>", "platform": "netlify", "options": {"site_id": site["id"]}},
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "own_token_required"
    assert netlify_deploys_to(netlify_fake, site["id"]) == 0
