"""Vercel: upload the project source by SHA-1 and let Vercel build it (framework `vite`).

Steps, each recorded in the journal: `creating` (intent, saved before the
non-idempotent POST), `created` (deployment id known), `polling`, then `ready` or
`error`. A resume that finds `creating` without an id first looks for a deployment
carrying our `meta.kilnDeploymentId` before creating another one.
"""

from __future__ import annotations

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
from kiln.deploy.site import sha1
from kiln.errors import ProviderError

META_KEY = "kilnDeploymentId"
_DONE_ERROR = ("ERROR", "CANCELED")


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
) -> DeployOutcome:
    """Create (or resume) one Vercel deployment; `pending` when the poll budget runs out.

    options: `team_id`, `target` ("production" by default, so the URL is public).
    """
    rec = Recorder(journal, save, progress)
    if journal.state != "pending":
        return rec.outcome()
    params = {"teamId": str(options["team_id"])} if options.get("team_id") else {}
    with ProviderApi(
        "vercel", api, token, client=client, max_wait_s=max_wait_s, sleep=sleep
    ) as http:
        if "deployment" not in journal.provider_ids:
            created = None
            if journal.step != "start":  # a create may have happened before the crash
                created = _find_ours(http, site, params)
            if created is None:
                rec.step("creating", f"creating deployment of {len(site.files)} files")
                created = _create(http, site, options, params, rec)
            rec.ids(deployment=str(created["id"]))
            rec.step("created", f"deployment {created['id']} is {created.get('readyState', '?')}")
        return _poll(http, rec, params, poll_budget_s, poll_interval_s, sleep)


def _payload(site: SiteFiles, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    blobs: dict[str, bytes] = {}
    entries = []
    for path in sorted(site.files):
        data = site.files[path].encode()
        digest = sha1(data)
        blobs[digest] = data
        entries.append({"file": path, "sha": digest, "size": len(data)})
    framework = "vite" if "package.json" in site.files else None
    settings: dict[str, Any] = {"framework": framework}
    if framework:
        settings["outputDirectory"] = "dist"
    body: dict[str, Any] = {
        "name": site.name,
        "files": entries,
        "projectSettings": settings,
        "meta": {META_KEY: site.deployment_id},
    }
    target = options.get("target", "production")
    if target and target != "preview":
        body["target"] = target
    return body, blobs


def _create(
    http: ProviderApi,
    site: SiteFiles,
    options: dict[str, Any],
    params: dict[str, str],
    rec: Recorder,
) -> dict[str, Any]:
    """POST the file list; upload what Vercel says is missing, then POST once more."""
    body, blobs = _payload(site, options)
    paths = {entry["sha"]: entry["file"] for entry in body["files"]}
    for attempt in (1, 2):
        resp = http.request("POST", "/v13/deployments", json=body, params=params, ok={400})
        if resp.is_success:
            created: dict[str, Any] = resp.json()
            return created
        missing = _missing_files(resp)
        if missing is None or attempt == 2:
            raise http.error(resp, "POST", "/v13/deployments")
        unknown = [sha for sha in missing if sha not in blobs]
        if unknown:
            raise ProviderError("vercel asked for files we did not send", code="deploy_invalid")
        for n, digest in enumerate(missing, start=1):
            rec.note("upload", f"uploading {n}/{len(missing)} files")
            _upload(http, blobs[digest], digest, params)
            rec.journal.uploaded[paths[digest]] = digest
        rec.step("uploaded", f"uploaded {len(missing)} files")
    raise AssertionError("unreachable")


def _missing_files(resp: httpx.Response) -> list[str] | None:
    try:
        err = resp.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    if not isinstance(err, dict) or err.get("code") != "missing_files":
        return None
    return [str(sha) for sha in err.get("missing", [])]


def _upload(http: ProviderApi, data: bytes, digest: str, params: dict[str, str]) -> None:
    headers = {
        "Content-Type": "application/octet-stream",
        "x-vercel-digest": digest,
        "x-now-digest": digest,
        "x-now-size": str(len(data)),
    }
    http.request("POST", "/v2/files", content=data, headers=headers, params=params, safe=True)


def _find_ours(http: ProviderApi, site: SiteFiles, params: dict[str, str]) -> dict[str, Any] | None:
    """After a crash around the create call: the deployment we may already have made."""
    query = {**params, "app": site.name, "limit": "100"}
    resp = http.request("GET", "/v6/deployments", params=query)
    for item in resp.json().get("deployments", []):
        if (item.get("meta") or {}).get(META_KEY) == site.deployment_id:
            return {"id": item.get("uid") or item.get("id"), "readyState": item.get("state")}
    return None


def _poll(
    http: ProviderApi,
    rec: Recorder,
    params: dict[str, str],
    budget_s: float,
    interval_s: float,
    sleep: Callable[[float], None],
) -> DeployOutcome:
    dpl = segment(rec.journal.provider_ids["deployment"])
    deadline = time.monotonic() + budget_s
    last = None
    while True:
        info = http.request("GET", f"/v13/deployments/{dpl}", params=params).json()
        state = str(info.get("readyState") or info.get("status") or "")
        if state != last:
            rec.note("building", f"deployment is {state or 'unknown'}")
            last = state
        if state in _DONE_ERROR or state.endswith("_ERROR") or info.get("aliasError"):
            reason = info.get("errorMessage") or info.get("errorCode") or state
            rec.finish("error", None, f"vercel reports {state}: {reason}")
            raise ProviderError(f"vercel deployment failed: {reason}", code="deploy_failed")
        if state == "READY" and info.get("aliasAssigned"):
            return rec.finish("ready", _url(info), "deployment is live")
        if time.monotonic() + interval_s > deadline:
            rec.step("polling", f"still {state}; will check again")
            return rec.outcome()
        sleep(interval_s)


def _url(info: dict[str, Any]) -> str:
    aliases = info.get("alias") or []
    host = aliases[0] if info.get("target") == "production" and aliases else info.get("url", "")
    return f"https://{host}"
