"""What a person gets from Share and from "kiln hosting (S3)": the app, working, in their
browser -- the same app the editor's preview showed them."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

SHOTS = Path("/tmp/kiln-shots-22")
TOKEN_KEY = "kiln.token"


def _token(page: Page) -> str:
    deadline = time.monotonic() + 20
    while not (token := page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")):
        assert time.monotonic() < deadline, "the app minted no session"
        page.wait_for_timeout(100)
    return str(token)


def _api(page: Page) -> httpx.Client:
    base = page.evaluate("location.origin")
    auth = {"Authorization": f"Bearer {_token(page)}"}
    return httpx.Client(base_url=base, headers=auth, timeout=60)


def _generate(api: httpx.Client, prompt: str, framework: str) -> str:
    """The project id of a finished starter generation."""
    started = api.post("/api/generations", json={"prompt": prompt, "framework": framework})
    assert started.status_code == 202, started.text
    job = started.json()
    deadline = time.monotonic() + 90
    while api.get(f"/api/jobs/{job['job_id']}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the starter generation did not finish"
        time.sleep(0.3)
    return str(job["project_id"])


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    page.goto(url)
    return page, errors


def test_the_share_link_of_an_app_that_uses_local_storage_renders_and_works(
    page: Page, browser: Browser
) -> None:
    with _api(page) as api:
        pid = _generate(api, "a todo list called Errands", "vanilla")
        files = api.get(f"/api/projects/{pid}/versions/1").json()["files"]
        assert any("localStorage" in body for body in files.values()), "not a storage app"
        link = api.post(f"/api/projects/{pid}/versions/1/preview")
        assert link.status_code == 201, link.text
        url = str(api.base_url).rstrip("/") + link.json()["url"]
        served = api.get(url, follow_redirects=True)
    assert "allow-same-origin" not in served.headers["content-security-policy"]

    shared, errors = _open(browser, url)
    shared.locator("input").first.fill("water the plants")
    shared.locator("input").first.press("Enter")
    expect(shared.locator("text=water the plants").first).to_be_visible()
    assert shared.evaluate("self.origin") == "null", "the shared app must not get kiln's origin"
    SHOTS.mkdir(exist_ok=True)
    shared.screenshot(path=str(SHOTS / "share-link-todo.png"))
    shared.context.close()
    assert errors == []


def _deployed(api: httpx.Client, pid: str) -> dict[str, Any]:
    started = api.post("/api/deployments", json={"project_id": pid, "target": "s3"})
    assert started.status_code == 202, started.text
    dep_id = started.json()["deployment_id"]
    deadline = time.monotonic() + 240
    while True:
        dep: dict[str, Any] = api.get(f"/api/deployments/{dep_id}").json()
        if dep["state"] in ("ready", "failed", "error", "cancelled"):
            return dep
        assert time.monotonic() < deadline, f"the deploy did not finish: {dep}"
        time.sleep(0.2)


def test_an_s3_deploy_serves_the_app_at_its_url_when_it_says_ready(
    page: Page, browser: Browser
) -> None:
    with _api(page) as api:
        pid = _generate(api, "a counter app called Liveness", "vanilla")
        dep = _deployed(api, pid)
        assert dep["state"] == "ready", dep
        assert dep["url"], dep
        served = httpx.get(dep["url"], timeout=30)
    assert served.status_code == 200, served.text[:300]
    assert served.headers["content-type"].startswith("text/html")
    assert re.search(r"<title>\s*Liveness", served.text), served.text[:300]

    site, errors = _open(browser, dep["url"])
    expect(site.get_by_text("Liveness").first).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    site.screenshot(path=str(SHOTS / "s3-site-counter.png"))
    site.context.close()
    assert errors == []
