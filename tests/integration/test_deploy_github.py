"""GitHub Pages deploys against the fake GitHub API on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import httpx
import pytest

from kiln.deploy import github
from kiln.deploy.journal import Journal, SiteFiles
from kiln.errors import ProviderError
from kiln.gate.build import BuildResult
from tests.fakes.deploy_servers import (  # noqa: F401
    TOKEN,
    Crash,
    FakeGitHub,
    Saves,
    git_blob_sha,
    github_fake_fixture,
)
from tests.tools import needs

pytestmark = pytest.mark.integration

SITE = SiteFiles(
    deployment_id="d-1",
    name="hello",
    files={"index.html": "<h1>hi</h1>", "_app/x.js": "console.log(1)"},
)


def run(fake: FakeGitHub, site: SiteFiles = SITE, journal: Journal | None = None, **kw: Any) -> Any:
    kw.setdefault("poll_interval_s", 0.01)
    kw.setdefault("options", {})
    journal = journal if journal is not None else Journal(target="github")
    return github.deploy(site, token=TOKEN, journal=journal, api=fake.url, **kw)


def expected_files(site: SiteFiles) -> dict[str, bytes]:
    files = {p: t.encode() for p, t in site.files.items()}
    return {**files, ".nojekyll": b"", "404.html": files["index.html"]}


def test_gh_pages_holds_the_site_with_nojekyll_and_a_404_fallback(github_fake: FakeGitHub) -> None:
    outcome = run(github_fake)
    assert outcome.state == "ready"
    assert github_fake.branch_files("octo", "hello", "gh-pages") == expected_files(SITE)


def test_the_url_is_the_project_pages_url(github_fake: FakeGitHub) -> None:
    assert run(github_fake).url == "https://octo.github.io/hello/"


def test_the_repository_is_created_with_an_initial_commit(github_fake: FakeGitHub) -> None:
    run(github_fake)
    body = github_fake.calls("POST", "/user/repos")[0].json()
    assert body["auto_init"] is True


def test_pages_is_enabled_on_gh_pages_as_a_legacy_build(github_fake: FakeGitHub) -> None:
    run(github_fake)
    body = github_fake.calls("POST", "/repos/octo/hello/pages")[0].json()
    assert body == {"build_type": "legacy", "source": {"branch": "gh-pages", "path": "/"}}


def test_every_call_pins_the_api_version(github_fake: FakeGitHub) -> None:
    run(github_fake)
    versions = {r.headers.get("x-github-api-version") for r in github_fake.requests}
    assert versions == {"2022-11-28"}


def test_text_files_go_inline_in_the_tree_without_blob_calls(github_fake: FakeGitHub) -> None:
    run(github_fake)
    assert github_fake.calls("POST", "/repos/octo/hello/git/blobs") == []
    tree = github_fake.calls("POST", "/repos/octo/hello/git/trees")[0].json()["tree"]
    assert all("content" in entry for entry in tree)


def test_a_redeploy_fast_forwards_gh_pages_on_top_of_the_previous_deploy(
    github_fake: FakeGitHub,
) -> None:
    first = run(github_fake)
    changed = SiteFiles(deployment_id="d-2", name="hello", files={"index.html": "<h1>v2</h1>"})
    second = run(github_fake, changed)
    repo = github_fake.repos["octo/hello"]
    head = repo["objects"][repo["refs"]["gh-pages"]]
    assert head["parents"] == [first.provider_ids["commit"]]
    assert repo["refs"]["gh-pages"] == second.provider_ids["commit"]
    assert github_fake.branch_files("octo", "hello", "gh-pages")["index.html"] == b"<h1>v2</h1>"


def test_a_branch_moved_meanwhile_gets_our_tree_on_top_of_its_new_head(
    github_fake: FakeGitHub,
) -> None:
    run(github_fake)
    journal = Journal(target="github")
    changed = SiteFiles(deployment_id="d-2", name="hello", files={"index.html": "<h1>v2</h1>"})
    saves = Saves(crash_at=5)  # owner, repo, "repo", commit id, "committed": crash before pushing
    with pytest.raises(Crash):
        run(github_fake, changed, journal=journal, save=saves)
    third = SiteFiles(deployment_id="d-3", name="hello", files={"index.html": "<h1>v3</h1>"})
    moved = run(github_fake, third)  # someone else moves gh-pages
    outcome = run(github_fake, changed, journal=saves.last("github"))
    assert outcome.state == "ready"
    repo = github_fake.repos["octo/hello"]
    assert repo["objects"][repo["refs"]["gh-pages"]]["parents"] == [moved.provider_ids["commit"]]
    assert github_fake.branch_files("octo", "hello", "gh-pages")["index.html"] == b"<h1>v2</h1>"


def test_a_crash_after_any_step_resumes_without_a_second_repository_or_push(
    github_fake: FakeGitHub,
) -> None:
    clean = Saves()
    run(github_fake, save=clean)
    for crash_at in range(1, clean.count + 1):
        github_fake.repos.clear()
        saves = Saves(crash_at=crash_at)
        with pytest.raises(Crash):
            run(github_fake, save=saves)
        outcome = run(github_fake, journal=saves.last("github"), save=saves)
        assert outcome.state == "ready", crash_at
        assert list(github_fake.repos) == ["octo/hello"], crash_at
        repo = github_fake.repos["octo/hello"]
        head = repo["objects"][repo["refs"]["gh-pages"]]
        assert head["parents"] == [], crash_at  # one commit on gh-pages, not a pile
        assert github_fake.branch_files("octo", "hello", "gh-pages") == expected_files(SITE)


def test_an_existing_repository_is_adopted(github_fake: FakeGitHub) -> None:
    run(github_fake)
    second = run(github_fake, SiteFiles(deployment_id="d-2", name="hello", files=SITE.files))
    assert second.state == "ready"
    assert len(github_fake.repos) == 1


def test_a_rejected_token_is_deploy_auth_and_is_never_logged(
    github_fake: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github_fake.token = "another"
    journal = Journal(target="github")
    with pytest.raises(ProviderError) as caught:
        run(github_fake, journal=journal)
    assert caught.value.code == "deploy_auth"
    assert TOKEN not in str(caught.value) + caplog.text + journal.model_dump_json()


def test_an_exhausted_primary_rate_limit_is_waited_until_its_reset(
    github_fake: FakeGitHub,
) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)}
    github_fake.fail("POST", "/user/repos", 403, {"message": "API rate limit exceeded"}, headers)
    assert run(github_fake).state == "ready"


def test_a_forbidden_answer_without_rate_limit_signs_is_deploy_auth(
    github_fake: FakeGitHub,
) -> None:
    github_fake.fail("POST", "/user/repos", 403, {"message": "Resource not accessible"})
    with pytest.raises(ProviderError) as caught:
        run(github_fake)
    assert caught.value.code == "deploy_auth"


def test_an_errored_pages_build_is_deploy_failed(github_fake: FakeGitHub) -> None:
    github_fake.build_result = "errored"
    journal = Journal(target="github")
    with pytest.raises(ProviderError) as caught:
        run(github_fake, journal=journal)
    assert caught.value.code == "deploy_failed"
    assert journal.state == "error"


def test_polling_stops_at_the_budget_and_continues_from_the_journal(
    github_fake: FakeGitHub,
) -> None:
    journal = Journal(target="github")
    assert run(github_fake, journal=journal, poll_budget_s=0).state == "pending"
    assert run(github_fake, journal=journal).state == "ready"
    assert len(github_fake.calls("POST", "/repos/octo/hello/git/commits")) == 1


@needs("node", "npm")
def test_a_vite_project_is_built_with_the_repository_as_its_base(github_fake: FakeGitHub) -> None:
    package = (
        '{"name": "app", "private": true, "type": "module", "devDependencies": {"vite": "8.3.8"}}'
    )
    site = SiteFiles(
        deployment_id="d-vite",
        name="vite-app",
        files={
            "package.json": package,
            "index.html": '<div id="app"></div><script type="module" src="/src/main.js"></script>',
            "src/main.js": "console.log('built')",
        },
    )
    assert run(github_fake, site).state == "ready"
    published = github_fake.branch_files("octo", "vite-app", "gh-pages")
    assert b'src="/vite-app/assets/' in published["index.html"]
    assert "src/main.js" not in published


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256))


def test_a_binary_file_goes_up_as_a_base64_blob_and_lands_byte_for_byte(
    github_fake: FakeGitHub,
) -> None:
    """Text files ride inline in the tree; a file that is not UTF-8 (an image the build
    emitted) can't, so it is sent as a base64 blob first and named by its SHA."""
    dist = {"index.html": b'<img src="logo.png">', "logo.png": PNG}
    site = SiteFiles(
        deployment_id="d-bin",
        name="binary",
        files={"package.json": "{}", "index.html": "", "src/main.js": ""},
        build=lambda files, framework, base: BuildResult(ok=True, dist=dict(dist)),
    )
    journal = Journal(target="github")

    assert run(github_fake, site, journal=journal).state == "ready"

    (blob,) = github_fake.calls("POST", "/repos/octo/binary/git/blobs")
    assert blob.json()["encoding"] == "base64"
    assert base64.b64decode(blob.json()["content"]) == PNG
    (tree,) = github_fake.calls("POST", "/repos/octo/binary/git/trees")
    entries = {item["path"]: item for item in tree.json()["tree"]}
    assert entries["logo.png"]["sha"] == git_blob_sha(PNG) and "content" not in entries["logo.png"]
    assert "sha" not in entries["index.html"]
    assert github_fake.branch_files("octo", "binary", "gh-pages")["logo.png"] == PNG
    assert journal.uploaded == {"logo.png": git_blob_sha(PNG)}


def empty_repository(fake: FakeGitHub, name: str) -> None:
    """A repository of the token's owner with no commit (created without auto_init)."""
    with httpx.Client(base_url=fake.url, headers={"User-Agent": "test"}) as http:
        http.post(
            "/user/repos",
            json={"name": name, "auto_init": False},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ).raise_for_status()


def test_an_adopted_empty_repository_is_deploy_invalid_naming_it_and_gets_nothing(
    github_fake: FakeGitHub,
) -> None:
    empty_repository(github_fake, "hello")
    with pytest.raises(ProviderError) as caught:
        run(github_fake)
    assert caught.value.code == "deploy_invalid"
    assert "repository is empty" in caught.value.message
    assert github_fake.repos["octo/hello"]["refs"] == {}
    assert github_fake.calls("POST", "/repos/octo/hello/git/commits") == []


def test_a_409_on_the_ref_update_is_deploy_invalid_naming_the_empty_repository(
    github_fake: FakeGitHub,
) -> None:
    run(github_fake)  # gh-pages exists, so the redeploy moves it with a PATCH
    github_fake.fail(
        "PATCH",
        "/repos/octo/hello/git/refs/heads/gh-pages",
        409,
        {"message": "Git Repository is empty.", "status": "409"},
    )
    changed = SiteFiles(deployment_id="d-2", name="hello", files={"index.html": "<h1>v2</h1>"})
    with pytest.raises(ProviderError) as caught:
        run(github_fake, changed)
    assert caught.value.code == "deploy_invalid"
    assert "repository is empty" in caught.value.message
    assert github_fake.branch_files("octo", "hello", "gh-pages")["index.html"] == b"<h1>hi</h1>"
