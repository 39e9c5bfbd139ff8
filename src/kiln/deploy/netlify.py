"""Netlify: we build, then a file-digest deploy of `dist/` with an SPA `_redirects`.

Steps: `site` (created, or taken from `options.site_id` or the journal), `creating`
(intent, saved before the non-idempotent deploy POST, which carries our deployment
id as its title), `created`, `uploaded`, `polling`, then `ready` or `error`.

With the operator's token (`operator=True`) a taken name is never adopted: the only
existing site used is the one the runner put in the journal (the site kiln created
for this owner's project), or the one this deployment asked for before a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

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
from kiln.deploy.site import build_site, sha1
from kiln.errors import ProviderError

SPA_REDIRECTS = "/*    /index.html    200\n"
USER_AGENT = "kiln (https://github.com/kiln) deploy client"
_WAITING = ("new", "preparing", "pending_review")
_SAVE_EVERY = 10


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
    poll_interval_s: float = 1.0,
    max_wait_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    operator: bool = False,
) -> DeployOutcome:
    """Build, then create (or resume) one Netlify deploy; `pending` when the budget runs out.

    options: `site_id` (deploy to an existing site instead of creating `site.name`).
    """
    rec = Recorder(journal, save, progress)
    if journal.state != "pending":
        return rec.outcome()
    deadline = time.monotonic() + poll_budget_s
    headers = {"User-Agent": USER_AGENT}
    with ProviderApi(
        "netlify", api, token, client=client, headers=headers, max_wait_s=max_wait_s, sleep=sleep
    ) as http:
        if "site" not in journal.provider_ids:
            site_id = str(options.get("site_id") or "") or _create_site(
                http, rec, site.name, operator=operator
            )
            rec.ids(site=site_id)
            rec.step("site", f"site {site_id}")
        files = _site_files(site)
        digest = {f"/{path}": sha1(data) for path, data in files.items()}
        info = _current_deploy(http, rec, site)
        if info is None:
            rec.step("creating", f"creating deploy of {len(files)} files")
            info = http.request(
                "POST",
                f"/sites/{segment(journal.provider_ids['site'])}/deploys",
                params={"title": _title(site)},
                json={"files": digest, "async": True, "draft": False},
            ).json()
            rec.ids(deploy=str(info["id"]))
            rec.step("created", f"deploy {info['id']} is {info.get('state')}")
        while info.get("state") in _WAITING:
            if time.monotonic() + poll_interval_s > deadline:
                rec.step("polling", f"deploy is {info.get('state')}; will check again")
                return rec.outcome()
            sleep(poll_interval_s)
            info = _get_deploy(http, rec)
        if info.get("state") not in ("ready", "error"):
            _upload_required(http, rec, info, files)
            info = _get_deploy(http, rec)
        return _poll(http, rec, info, deadline, poll_interval_s, sleep)


def _site_files(site: SiteFiles) -> dict[str, bytes]:
    dist = build_site(site, base="/")
    dist.setdefault("_redirects", SPA_REDIRECTS.encode())
    return dist


def _title(site: SiteFiles) -> str:
    return f"kiln {site.deployment_id}"


def _create_site(http: ProviderApi, rec: Recorder, name: str, *, operator: bool) -> str:
    """A 422 means the name is taken. A user's token adopts the site it can see (its own);
    the operator's only the one this deployment asked for before a crash (its name is
    recorded first), never another visitor's."""
    asked_before = rec.journal.provider_ids.get("site_name") == name
    if operator and not asked_before:
        rec.ids(site_name=name)
    resp = http.request("POST", "/sites", json={"name": name}, ok={422})
    if resp.is_success:
        return str(resp.json()["id"])
    if operator and not asked_before:
        raise ProviderError(f"netlify site name {name!r} is taken", code="deploy_name_taken")
    existing = http.request("GET", f"/sites/{segment(name)}.netlify.app", ok={404})
    if existing.status_code == 404:
        raise ProviderError(f"netlify site name {name!r} is taken", code="deploy_invalid")
    return str(existing.json()["id"])


def _current_deploy(http: ProviderApi, rec: Recorder, site: SiteFiles) -> dict[str, Any] | None:
    """The deploy to continue: the journal's, or ours found by title after a crash."""
    j = rec.journal
    if "deploy" in j.provider_ids:
        info = _get_deploy(http, rec)
        if info.get("state") != "error":
            return info
        rec.note("created", "previous deploy failed; starting a new one")
        del j.provider_ids["deploy"]
        j.uploaded.clear()
        return None
    if j.step != "creating":
        return None
    listed = http.request(
        "GET", f"/sites/{segment(j.provider_ids['site'])}/deploys", params={"per_page": "20"}
    )
    for item in listed.json():
        if item.get("title") == _title(site) and item.get("state") != "error":
            rec.ids(deploy=str(item["id"]))
            return _get_deploy(http, rec)
    return None


def _get_deploy(http: ProviderApi, rec: Recorder) -> dict[str, Any]:
    info: dict[str, Any] = http.request(
        "GET", f"/deploys/{segment(rec.journal.provider_ids['deploy'])}"
    ).json()
    return info


def _upload_required(
    http: ProviderApi, rec: Recorder, info: dict[str, Any], files: dict[str, bytes]
) -> None:
    """PUT each required SHA once (by its first path); files the journal has are skipped."""
    by_sha: dict[str, str] = {}
    for path in sorted(files):
        by_sha.setdefault(sha1(files[path]), path)
    required = [sha for sha in info.get("required") or [] if sha in by_sha]
    todo = [sha for sha in required if rec.journal.uploaded.get(by_sha[sha]) != sha]
    dpl = segment(rec.journal.provider_ids["deploy"])
    for n, digest in enumerate(todo, start=1):
        path = by_sha[digest]
        rec.note("upload", f"uploading {n}/{len(todo)} files")
        http.request(
            "PUT",
            f"/deploys/{dpl}/files/{quote(path)}",
            content=files[path],
            headers={"Content-Type": "application/octet-stream"},
        )
        rec.journal.uploaded[path] = digest
        if n % _SAVE_EVERY == 0:
            rec.save(rec.journal)
    rec.step("uploaded", f"uploaded {len(todo)} files")


def _poll(
    http: ProviderApi,
    rec: Recorder,
    info: dict[str, Any],
    deadline: float,
    interval_s: float,
    sleep: Callable[[float], None],
) -> DeployOutcome:
    last = None
    while True:
        state = str(info.get("state") or "")
        if state != last:
            rec.note("processing", f"deploy is {state}")
            last = state
        if state == "ready":
            url = info.get("ssl_url") or info.get("url") or info.get("deploy_ssl_url")
            return rec.finish("ready", str(url), "deploy is live")
        if state == "error":
            reason = info.get("error_message") or "unknown reason"
            rec.finish("error", None, f"netlify reports error: {reason}")
            raise ProviderError(f"netlify deploy failed: {reason}", code="deploy_failed")
        if time.monotonic() + interval_s > deadline:
            rec.step("polling", f"deploy is {state}; will check again")
            return rec.outcome()
        sleep(interval_s)
        info = _get_deploy(http, rec)
