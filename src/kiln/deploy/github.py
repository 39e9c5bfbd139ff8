"""GitHub Pages: we build with Vite `base: /<repo>/` and push `dist/` to `gh-pages` in one commit.

Steps: `owner`, `repo` (created with `auto_init`; a user's token adopts it on 422), `committed`
(tree and commit via the Git Data API; text files inline in the tree, binary ones
as blobs), `pushed` (ref created or fast-forwarded; rebuilt on top when the branch
moved), `pages` (enabled with source gh-pages; 409 = already enabled), `polling`,
then `ready` or `error`. Every write is either content-addressed or answered with a
recognisable conflict when repeated, so a resume never makes a second repository.

With the operator's token (`operator=True`) a taken name is never adopted: the only
existing repository used is the one the runner put in the journal (the one kiln
created for this owner's project), or the one this deployment asked for before a crash.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx

from kiln.deploy.http import ProviderApi, segment
from kiln.deploy.journal import (
    DeployOutcome,
    Journal,
    Progress,
    Recorder,
    Save,
    SiteFiles,
    no_progress,
    no_save,
)
from kiln.deploy.site import build_site
from kiln.errors import ProviderError

BRANCH = "gh-pages"
API_VERSION = "2022-11-28"
_SOURCE = {"branch": BRANCH, "path": "/"}


def deploy(
    site: SiteFiles,
    *,
    token: str,
    journal: Journal,
    options: dict[str, Any],
    api: str,
    client: httpx.Client | None = None,
    save: Save = no_save,
    progress: Progress = no_progress,
    poll_budget_s: float = 60.0,
    poll_interval_s: float = 2.0,
    max_wait_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    operator: bool = False,
) -> DeployOutcome:
    """Publish one version to `https://<owner>.github.io/<repo>/`; `pending` past the budget.

    options: `org` (create the repository there), `private` (Pages then needs a paid plan).
    """
    rec = Recorder(journal, save, progress)
    if journal.state != "pending":
        return rec.outcome()
    deadline = time.monotonic() + poll_budget_s
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "kiln-deploy",
    }
    with ProviderApi(
        "github", api, token, client=client, headers=headers, max_wait_s=max_wait_s, sleep=sleep
    ) as http:
        ids = journal.provider_ids
        if "owner" not in ids:
            owner = str(options.get("org") or "") or str(
                http.request("GET", "/user").json()["login"]
            )
            rec.ids(owner=owner)
        if "repo" not in ids:
            rec.ids(repo=_create_repo(http, rec, site.name, options, operator=operator))
            rec.step("repo", f"repository {ids['owner']}/{ids['repo']}")
        repo = f"/repos/{segment(ids['owner'])}/{segment(ids['repo'])}"
        if "commit" not in ids:
            files = _site_files(site, ids["repo"])
            rec.note("upload", f"committing {len(files)} files")
            tree = _tree(http, rec, repo, files)
            head = _head(http, repo)
            rec.ids(tree=tree, commit=_commit(http, repo, tree, head, site))
            rec.step("committed", f"commit {ids['commit'][:7]}")
        if ids.get("pushed") != ids["commit"]:
            _push(http, rec, repo, site)
            rec.ids(pushed=ids["commit"])
            rec.step("pushed", f"{BRANCH} is at {ids['commit'][:7]}")
        if "pages" not in ids:
            _enable_pages(http, repo)
            rec.ids(pages="legacy")
            rec.step("pages", "GitHub Pages serves the gh-pages branch")
        return _poll(http, rec, repo, deadline, poll_interval_s, sleep)


def _site_files(site: SiteFiles, repo: str) -> dict[str, bytes]:
    """Sites live under /<repo>/; Jekyll would drop `_` paths; 404.html is the SPA fallback."""
    dist = build_site(site, base=f"/{repo}/")
    dist.setdefault(".nojekyll", b"")
    if "index.html" in dist:
        dist.setdefault("404.html", dist["index.html"])
    return dist


def _create_repo(
    http: ProviderApi, rec: Recorder, name: str, options: dict[str, Any], *, operator: bool
) -> str:
    """A 422 means it exists. A user's token adopts it (its own repository: a retry or a
    redeploy); the operator's only the one this deployment asked for before a crash (its
    name is recorded first), never another visitor's."""
    owner = rec.journal.provider_ids["owner"]
    asked_before = rec.journal.provider_ids.get("repo_name") == name
    if operator and not asked_before:
        rec.ids(repo_name=name)
    path = f"/orgs/{segment(options['org'])}/repos" if options.get("org") else "/user/repos"
    body = {
        "name": name,
        "auto_init": True,
        "private": bool(options.get("private", False)),
        "description": "Deployed by kiln",
    }
    resp = http.request("POST", path, json=body, ok={422})
    if resp.is_success:
        return str(resp.json()["name"])
    if operator and not asked_before:
        raise ProviderError(f"github repository name {name!r} is taken", code="deploy_name_taken")
    existing = http.request("GET", f"/repos/{segment(owner)}/{segment(name)}", ok={404})
    if existing.status_code == 404:
        raise http.error(resp, "POST", path)
    return str(existing.json()["name"])


def _tree(http: ProviderApi, rec: Recorder, repo: str, files: dict[str, bytes]) -> str:
    entries: list[dict[str, Any]] = []
    for path in sorted(files):
        data = files[path]
        entry: dict[str, Any] = {"path": path, "mode": "100644", "type": "blob"}
        try:
            entry["content"] = data.decode("utf-8")
        except UnicodeDecodeError:
            entry["sha"] = _blob(http, rec, repo, path, data)
        entries.append(entry)
    resp = http.request("POST", f"{repo}/git/trees", json={"tree": entries}, safe=True, ok={409})
    _refuse_empty(resp)
    return str(resp.json()["sha"])


def _blob(http: ProviderApi, rec: Recorder, repo: str, path: str, data: bytes) -> str:
    body = {"content": base64.b64encode(data).decode(), "encoding": "base64"}
    resp = http.request("POST", f"{repo}/git/blobs", json=body, safe=True, ok={409})
    _refuse_empty(resp)
    sha = str(resp.json()["sha"])
    rec.journal.uploaded[path] = sha
    return sha


def _refuse_empty(resp: httpx.Response) -> None:
    if resp.status_code == 409:
        raise ProviderError(
            "the GitHub repository is empty; add a first commit or let kiln create it",
            code="deploy_invalid",
        )


def _head(http: ProviderApi, repo: str) -> str | None:
    resp = http.request("GET", f"{repo}/git/ref/heads/{BRANCH}", ok={404, 409})
    return str(resp.json()["object"]["sha"]) if resp.is_success else None


def _commit(http: ProviderApi, repo: str, tree: str, parent: str | None, site: SiteFiles) -> str:
    body = {
        "message": f"Deploy {site.name} ({site.deployment_id}) with kiln",
        "tree": tree,
        "parents": [parent] if parent else [],
    }
    return str(http.request("POST", f"{repo}/git/commits", json=body, safe=True).json()["sha"])


def _push(http: ProviderApi, rec: Recorder, repo: str, site: SiteFiles) -> None:
    """Point gh-pages at our commit; if the branch moved meanwhile, recommit on its head."""
    ids = rec.journal.provider_ids
    for _ in range(3):
        head = _head(http, repo)
        if head == ids["commit"]:
            return
        if head is None:
            ref = {"ref": f"refs/heads/{BRANCH}", "sha": ids["commit"]}
            resp = http.request("POST", f"{repo}/git/refs", json=ref, ok={409, 422})
        else:
            commit = segment(ids["commit"])
            parents = http.request("GET", f"{repo}/git/commits/{commit}").json()["parents"]
            if head not in [p["sha"] for p in parents]:
                rec.ids(commit=_commit(http, repo, ids["tree"], head, site))
            move = {"sha": ids["commit"], "force": False}
            resp = http.request(
                "PATCH", f"{repo}/git/refs/heads/{BRANCH}", json=move, ok={409, 422}
            )
        _refuse_empty(resp)
        if resp.is_success:
            return
    raise ProviderError(f"{BRANCH} keeps moving; try again", code="deploy_invalid")


def _enable_pages(http: ProviderApi, repo: str) -> None:
    body = {"build_type": "legacy", "source": _SOURCE}
    resp = http.request("POST", f"{repo}/pages", json=body, ok={409})
    if resp.status_code == 409:
        pages = http.request("GET", f"{repo}/pages").json()
        if pages.get("source") != _SOURCE or pages.get("build_type") != "legacy":
            http.request("PUT", f"{repo}/pages", json=body)


def _poll(
    http: ProviderApi,
    rec: Recorder,
    repo: str,
    deadline: float,
    interval_s: float,
    sleep: Callable[[float], None],
) -> DeployOutcome:
    """Wait for a Pages build of *our* commit; an older build's status says nothing."""
    ids = rec.journal.provider_ids
    last = None
    while True:
        resp = http.request("GET", f"{repo}/pages/builds/latest", ok={404})
        build = resp.json() if resp.is_success else {}
        ours = build.get("commit") == ids["commit"]
        status = str(build.get("status") or "queued") if ours else "queued"
        if status != last:
            rec.note("building", f"Pages build is {status}")
            last = status
        if status == "built":
            pages = http.request("GET", f"{repo}/pages").json()
            url = pages.get("html_url") or f"https://{ids['owner']}.github.io/{ids['repo']}/"
            return rec.finish("ready", str(url), "site is live")
        if status == "errored":
            reason = (build.get("error") or {}).get("message") or "unknown reason"
            rec.finish("error", None, f"Pages build errored: {reason}")
            raise ProviderError(f"GitHub Pages build failed: {reason}", code="deploy_failed")
        if time.monotonic() + interval_s > deadline:
            rec.step("polling", f"Pages build is {status}; will check again")
            return rec.outcome()
        sleep(interval_s)
