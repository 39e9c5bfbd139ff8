"""Netlify deploys against the fake Netlify API on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from kiln.deploy import netlify
from kiln.deploy.journal import Journal, SiteFiles
from kiln.deploy.site import sha1
from kiln.errors import ProviderError
from tests.fakes.deploy_servers import (  # noqa: F401
    TOKEN,
    Crash,
    FakeNetlify,
    Saves,
    netlify_fake_fixture,
)

pytestmark = pytest.mark.integration

SITE = SiteFiles(
    deployment_id="d-1",
    name="hello",
    files={"index.html": "<h1>hi</h1>", "a/b.css": "h1{}", "same.html": "<h1>hi</h1>"},
)


def run(
    fake: FakeNetlify, site: SiteFiles = SITE, journal: Journal | None = None, **kw: Any
) -> Any:
    kw.setdefault("poll_interval_s", 0.01)
    kw.setdefault("options", {})
    journal = journal if journal is not None else Journal(target="netlify")
    return netlify.deploy(site, token=TOKEN, journal=journal, api=fake.url, **kw)


def expected_files(site: SiteFiles) -> dict[str, bytes]:
    return {
        **{p: t.encode() for p, t in site.files.items()},
        "_redirects": b"/*    /index.html    200\n",
    }


def test_the_published_site_is_the_files_plus_an_spa_redirect(netlify_fake: FakeNetlify) -> None:
    outcome = run(netlify_fake)
    assert outcome.state == "ready"
    assert netlify_fake.published_files(outcome.provider_ids["site"]) == expected_files(SITE)


def test_the_url_is_the_sites_https_url(netlify_fake: FakeNetlify) -> None:
    assert run(netlify_fake).url == "https://hello.netlify.app"


def test_the_digest_keys_have_a_leading_slash(netlify_fake: FakeNetlify) -> None:
    run(netlify_fake)
    body = netlify_fake.calls("POST", "/sites/[^/]+/deploys")[0].json()
    assert set(body["files"]) == {"/" + p for p in expected_files(SITE)}
    assert body["async"] is True


def test_files_sharing_a_sha_are_uploaded_once(netlify_fake: FakeNetlify) -> None:
    run(netlify_fake)
    uploaded = [sha1(r.body) for r in netlify_fake.calls("PUT", "/deploys/.*")]
    assert sorted(uploaded) == sorted({sha1(b) for b in expected_files(SITE).values()})


def test_an_existing_site_id_in_options_is_used_instead_of_creating_one(
    netlify_fake: FakeNetlify,
) -> None:
    first = run(netlify_fake)
    again = SiteFiles(deployment_id="d-2", name="other", files=SITE.files)
    second = run(netlify_fake, again, options={"site_id": first.provider_ids["site"]})
    assert second.provider_ids["site"] == first.provider_ids["site"]
    assert len(netlify_fake.sites) == 1


def test_a_taken_name_that_the_token_can_see_is_adopted(netlify_fake: FakeNetlify) -> None:
    first = run(netlify_fake)
    second = run(netlify_fake, SiteFiles(deployment_id="d-2", name="hello", files=SITE.files))
    assert second.provider_ids["site"] == first.provider_ids["site"]


def test_a_crash_after_any_step_resumes_without_a_second_site_or_deploy(
    netlify_fake: FakeNetlify,
) -> None:
    clean = Saves()
    run(netlify_fake, save=clean)
    for crash_at in range(1, clean.count + 1):
        for table in (netlify_fake.sites, netlify_fake.deploys, netlify_fake.blobs):
            table.clear()
        saves = Saves(crash_at=crash_at)
        with pytest.raises(Crash):
            run(netlify_fake, save=saves)
        outcome = run(netlify_fake, journal=saves.last("netlify"), save=saves)
        assert outcome.state == "ready", crash_at
        assert (len(netlify_fake.sites), len(netlify_fake.deploys)) == (1, 1), crash_at
        assert netlify_fake.published_files(outcome.provider_ids["site"]) == expected_files(SITE)


def test_a_deploy_whose_answer_is_lost_is_found_by_its_title(netlify_fake: FakeNetlify) -> None:
    saves = Saves()
    netlify_fake.drop("POST", "/sites/[^/]+/deploys")
    with pytest.raises(ProviderError):
        run(netlify_fake, save=saves)
    assert run(netlify_fake, journal=saves.last("netlify"), save=saves).state == "ready"
    assert len(netlify_fake.deploys) == 1


def test_a_rejected_token_is_deploy_auth_and_is_never_logged(
    netlify_fake: FakeNetlify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    netlify_fake.token = "another"
    journal = Journal(target="netlify")
    with pytest.raises(ProviderError) as caught:
        run(netlify_fake, journal=journal)
    assert caught.value.code == "deploy_auth"
    assert TOKEN not in str(caught.value) + caplog.text + journal.model_dump_json()


def test_a_rate_limit_with_a_date_string_reset_is_waited_out(netlify_fake: FakeNetlify) -> None:
    reset = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + 1))
    netlify_fake.fail(
        "POST", "/sites/[^/]+/deploys", 429, {"code": 429}, {"X-RateLimit-Reset": reset}
    )
    assert run(netlify_fake).state == "ready"
    assert len(netlify_fake.calls("POST", "/sites/[^/]+/deploys")) == 2


def test_the_fourth_deploy_in_a_minute_is_rate_limited_beyond_the_bound(
    netlify_fake: FakeNetlify,
) -> None:
    netlify_fake.deploys_per_minute = 3
    for n in range(3):
        run(netlify_fake, SiteFiles(deployment_id=f"d-{n}", name="hello", files=SITE.files))
    with pytest.raises(ProviderError) as caught:
        run(
            netlify_fake,
            SiteFiles(deployment_id="d-4", name="hello", files=SITE.files),
            max_wait_s=1,
        )
    assert caught.value.code == "deploy_rate_limited"


def test_a_deploy_netlify_fails_is_deploy_failed_and_recorded(netlify_fake: FakeNetlify) -> None:
    netlify_fake.end_state = "error"
    journal = Journal(target="netlify")
    with pytest.raises(ProviderError) as caught:
        run(netlify_fake, journal=journal)
    assert caught.value.code == "deploy_failed"
    assert journal.state == "error"


def test_polling_stops_at_the_budget_and_continues_from_the_journal(
    netlify_fake: FakeNetlify,
) -> None:
    journal = Journal(target="netlify")
    assert run(netlify_fake, journal=journal, poll_budget_s=0).state == "pending"
    assert run(netlify_fake, journal=journal).state == "ready"
    assert len(netlify_fake.deploys) == 1


def test_a_resume_whose_deploy_failed_meanwhile_starts_a_new_one_and_publishes_it(
    netlify_fake: FakeNetlify,
) -> None:
    journal = Journal(target="netlify")
    assert run(netlify_fake, journal=journal, poll_budget_s=0).state == "pending"
    (first,) = netlify_fake.deploys.values()
    first["state"], first["error_message"] = "error", "Build script returned non-zero exit code"

    outcome = run(netlify_fake, journal=journal)

    assert outcome.state == "ready"
    assert len(netlify_fake.deploys) == 2
    second = outcome.provider_ids["deploy"]
    assert second != first["id"]
    site = netlify_fake.sites[first["site_id"]]
    assert site["published_deploy"] == second
    assert netlify_fake.published_files(first["site_id"]) == expected_files(SITE)
    assert any("previous deploy failed" in line for line in journal.log)
