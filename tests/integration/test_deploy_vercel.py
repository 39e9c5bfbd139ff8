"""Vercel deploys against the fake Vercel API on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from kiln.deploy import vercel
from kiln.deploy.journal import Journal, SiteFiles
from kiln.errors import ProviderError
from tests.fakes.deploy_servers import (  # noqa: F401
    TOKEN,
    Crash,
    FakeVercel,
    Saves,
    vercel_fake_fixture,
)

pytestmark = pytest.mark.integration

HTML = SiteFiles(
    deployment_id="d-html",
    name="hello",
    files={"index.html": "<h1>hi</h1>", "about.html": "<p>about</p>", "copy.html": "<h1>hi</h1>"},
)
VITE = SiteFiles(
    deployment_id="d-vite",
    name="app",
    framework="react",
    files={
        "package.json": json.dumps({"name": "app", "devDependencies": {"vite": "^5"}}),
        "index.html": '<script type="module" src="/src/main.js"></script>',
        "src/main.js": "console.log('hi')",
    },
)


def run(fake: FakeVercel, site: SiteFiles, journal: Journal | None = None, **kw: Any) -> Any:
    kw.setdefault("poll_interval_s", 0.01)
    kw.setdefault("options", {})
    journal = journal if journal is not None else Journal(target="vercel")
    return vercel.deploy(site, token=TOKEN, journal=journal, api=fake.url, **kw)


def test_the_deployment_holds_exactly_the_project_source(vercel_fake: FakeVercel) -> None:
    outcome = run(vercel_fake, VITE)
    assert outcome.state == "ready"
    dpl = vercel_fake.deployments[outcome.provider_ids["deployment"]]
    assert dpl["files"] == {path: text.encode() for path, text in VITE.files.items()}


def test_the_url_is_the_production_alias(vercel_fake: FakeVercel) -> None:
    outcome = run(vercel_fake, HTML)
    assert outcome.url == "https://hello.vercel.app"


def test_a_deployment_is_live_only_once_its_alias_is_assigned(vercel_fake: FakeVercel) -> None:
    outcome = run(vercel_fake, HTML)  # the fake answers READY once without the alias first

    assert outcome.state == "ready"
    assert vercel_fake.deployments[outcome.provider_ids["deployment"]]["aliasAssigned"]


def test_a_vite_project_is_built_by_vercel_with_the_vite_preset(vercel_fake: FakeVercel) -> None:
    run(vercel_fake, VITE)
    body = vercel_fake.calls("POST", "/v13/deployments")[-1].json()
    assert body["projectSettings"]["framework"] == "vite"


def test_plain_html_is_deployed_without_a_framework(vercel_fake: FakeVercel) -> None:
    run(vercel_fake, HTML)
    body = vercel_fake.calls("POST", "/v13/deployments")[-1].json()
    assert body["projectSettings"]["framework"] is None


def test_missing_files_are_uploaded_once_per_sha_then_the_create_is_repeated(
    vercel_fake: FakeVercel,
) -> None:
    run(vercel_fake, HTML)
    uploads = vercel_fake.calls("POST", "/v2/files")
    assert sorted(u.headers["x-now-digest"] for u in uploads) == sorted(
        {vercel.sha1(t.encode()) for t in HTML.files.values()}
    )
    assert len(vercel_fake.calls("POST", "/v13/deployments")) == 2


def test_a_redeploy_of_known_files_uploads_nothing(vercel_fake: FakeVercel) -> None:
    run(vercel_fake, HTML)
    before = len(vercel_fake.calls("POST", "/v2/files"))
    run(vercel_fake, SiteFiles(deployment_id="d-2", name="hello", files=HTML.files))
    assert len(vercel_fake.calls("POST", "/v2/files")) == before


def test_the_team_scope_is_sent_on_uploads_and_on_the_create(vercel_fake: FakeVercel) -> None:
    run(vercel_fake, HTML, options={"team_id": "team_1"})
    scoped = [r for r in vercel_fake.requests if r.query.get("teamId") == "team_1"]
    assert len(scoped) == len(vercel_fake.requests)


def test_a_crash_after_any_step_resumes_without_a_second_deployment(
    vercel_fake: FakeVercel,
) -> None:
    clean = Saves()
    run(vercel_fake, HTML, save=clean)
    for crash_at in range(1, clean.count + 1):
        vercel_fake.deployments.clear()
        vercel_fake.blobs.clear()
        saves = Saves(crash_at=crash_at)
        with pytest.raises(Crash):
            run(vercel_fake, HTML, save=saves)
        outcome = run(vercel_fake, HTML, journal=saves.last("vercel"), save=saves)
        assert outcome.state == "ready", crash_at
        assert len(vercel_fake.deployments) == 1, crash_at


def test_a_create_whose_answer_is_lost_is_found_again_on_retry(vercel_fake: FakeVercel) -> None:
    saves = Saves()
    vercel_fake.blobs[""] = {vercel.sha1(t.encode()): t.encode() for t in HTML.files.values()}
    vercel_fake.drop("POST", "/v13/deployments")
    with pytest.raises(ProviderError) as caught:
        run(vercel_fake, HTML, save=saves)
    assert caught.value.code == "deploy_unavailable"
    outcome = run(vercel_fake, HTML, journal=saves.last("vercel"), save=saves)
    assert outcome.state == "ready"
    assert len(vercel_fake.deployments) == 1


def test_a_rejected_token_is_deploy_auth_and_is_never_logged(
    vercel_fake: FakeVercel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    vercel_fake.token = "another"
    journal = Journal(target="vercel")
    with pytest.raises(ProviderError) as caught:
        run(vercel_fake, HTML, journal=journal)
    assert caught.value.code == "deploy_auth"
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text
    assert TOKEN not in journal.model_dump_json()


def test_a_rate_limit_with_a_near_reset_is_waited_out(vercel_fake: FakeVercel) -> None:
    reset = str(int(time.time()) + 1)
    body = {"error": {"code": "rate_limited", "message": "slow down"}}
    vercel_fake.fail("POST", "/v13/deployments", 429, body, {"X-RateLimit-Reset": reset})
    assert run(vercel_fake, HTML).state == "ready"


def test_a_rate_limit_beyond_the_bound_is_reported_with_its_wait(vercel_fake: FakeVercel) -> None:
    body = {"error": {"code": "rate_limited", "message": "slow down"}}
    vercel_fake.fail("POST", "/v13/deployments", 429, body, {"Retry-After": "3600"})
    with pytest.raises(ProviderError) as caught:
        run(vercel_fake, HTML, max_wait_s=5)
    assert caught.value.code == "deploy_rate_limited"
    assert caught.value.retry_after == 3600


def test_a_failed_build_is_deploy_failed_and_recorded(vercel_fake: FakeVercel) -> None:
    vercel_fake.end_state = "ERROR"
    journal = Journal(target="vercel")
    with pytest.raises(ProviderError) as caught:
        run(vercel_fake, VITE, journal=journal)
    assert caught.value.code == "deploy_failed"
    assert journal.state == "error"


def test_a_server_error_on_upload_is_retried(vercel_fake: FakeVercel) -> None:
    vercel_fake.fail("POST", "/v2/files", 500, {"error": {"code": "internal_server_error"}})
    assert run(vercel_fake, HTML).state == "ready"


def test_polling_stops_at_the_budget_and_continues_from_the_journal(
    vercel_fake: FakeVercel,
) -> None:
    journal = Journal(target="vercel")
    first = run(vercel_fake, HTML, journal=journal, poll_budget_s=0)
    assert first.state == "pending"
    second = run(vercel_fake, HTML, journal=journal)
    assert second.state == "ready"
    assert len(vercel_fake.calls("POST", "/v13/deployments")) == 2  # the handshake only
